package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tsdiag/tsdiag/internal/report"
)

// commands holds the constructors of every subcommand; each subcommand's
// file adds itself in init so the files never edit each other.
var commands []func() *cobra.Command

func register(c func() *cobra.Command) { commands = append(commands, c) }

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tsdiag",
		Short: "Diagnose Remote Desktop licensing failures from Windows event logs",
		Long: `tsdiag reads Windows event logs (.evtx, .evt, XML exports, folders, support
bundles) and tells you why Remote Desktop licensing fails and what to do, in order.

Start with 'tsdiag demo', then 'tsdiag scan System.evtx'.`,
		Version:       toolVersion(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare tsdiag is a mistake in a script: help on stderr, exit 2.
		RunE: func(c *cobra.Command, _ []string) error {
			c.SetOut(c.ErrOrStderr())
			_ = c.Help()
			return withCode(exitError, nil)
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetVersionTemplate("tsdiag {{.Version}}\n")
	addGlobalFlags(root)
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// Global flags every command accepts, so `tsdiag demo --color always` works
// as `tsdiag scan --color always` does. Commands read them with globals.
func addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String("color", "auto", "colour in text output: auto (a terminal and no NO_COLOR), always, never")
	f.Int("width", 0, "fold text output at `N` columns (default: the terminal's width, else $COLUMNS, else 100); commands are never folded")
	f.Bool("verbose", false, "show rule confidence, finding scores and step likelihoods in text output (JSON always has them)")
	_ = root.RegisterFlagCompletionFunc("color", fixedCompletion("auto", "always", "never"))
}

// globalOptions are the values of the global flags for one command.
type globalOptions struct {
	Color   string // auto, always, never
	Width   int    // 0: decided by textWidth
	Verbose bool
}

func globals(c *cobra.Command) (globalOptions, error) {
	var g globalOptions
	f := c.Flags()
	var err error
	if g.Color, err = f.GetString("color"); err != nil {
		return g, err
	}
	if g.Width, err = f.GetInt("width"); err != nil {
		return g, err
	}
	if g.Verbose, err = f.GetBool("verbose"); err != nil {
		return g, err
	}
	switch g.Color {
	case "auto", "always", "never":
	default:
		return g, fmt.Errorf("--color %q: want auto, always or never", g.Color)
	}
	if g.Width < 0 {
		return g, errors.New("--width must be positive (0: the terminal's width)")
	}
	return g, nil
}

// textWidth is the column text written to w folds at: --width, else the
// terminal's width when w is one, else $COLUMNS, else report.DefaultWidth.
func textWidth(flag int, w io.Writer) int {
	if flag > 0 {
		return flag
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return report.DefaultWidth
}
