package main

import (
	"io"

	"github.com/spf13/cobra"
)

// commands holds the constructors of every subcommand; each subcommand's
// file adds itself in init so the files never edit each other.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "tsdiag",
		Short:         "Diagnose Remote Desktop licensing failures from Windows event logs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}
