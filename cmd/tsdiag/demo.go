package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/internal/scenario"
)

func init() { register(newDemoCmd) }

// demoScenario is striking on purpose: a 2019 host counts down its grace
// period, it expires, and users are refused.
const demoScenario = "grace-period-expired-2019"

func newDemoCmd() *cobra.Command {
	var id string
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Write a built-in licensing scenario to a temporary EVTX file and scan it",
		Long: `demo writes one of the built-in scenarios (default: a Server 2019 session host
whose grace period expires while users are refused) as a real EVTX file and
runs tsdiag scan on it, so you can see a diagnosis without a broken server.`,
		Example: `  tsdiag demo
  tsdiag demo --scenario license-server-unreachable-2016 --keep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(id, keep, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&id, "scenario", demoScenario, "built-in scenario to write (tsdiag gen --list)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the EVTX file instead of deleting it")
	return cmd
}

func runDemo(id string, keep bool, stdout, stderr io.Writer) error {
	s, err := findScenario(id)
	if err != nil {
		return withCode(exitError, err)
	}
	dir, err := os.MkdirTemp("", "tsdiag-demo-")
	if err != nil {
		return withCode(exitError, err)
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	path := filepath.Join(dir, s.ID+".evtx")
	n, err := writeScenario(s, path, 1, scenario.DefaultStart, 0)
	if err != nil {
		return withCode(exitError, err)
	}
	fmt.Fprintf(stdout, "tsdiag demo: %s\n  %d records written to %s", s.Title, n, path)
	if !keep {
		fmt.Fprint(stdout, " (deleted afterwards; --keep keeps it)")
	}
	fmt.Fprintf(stdout, "\n  running: tsdiag scan %s\n\n", path)
	return demoScan(path, stdout, stderr)
}

// demoScan runs the real scan command on path; findings are the point of
// the demo, so they never turn into a failing exit code.
func demoScan(path string, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	root.SetArgs([]string{"scan", "--fail-on", "none", path})
	return root.Execute()
}
