package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

func init() { register(newDemoCmd) }

// demoScenario is striking on purpose: a 2019 host counts down its grace
// period, it expires, and users are refused.
const demoScenario = "grace-period-expired-2019"

type demoOptions struct {
	id     string
	keep   bool
	format string
	g      globalOptions
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Write a built-in licensing scenario to a temporary EVTX file and scan it",
		Long: `demo writes one of the built-in scenarios (default: a Server 2019 session host
whose grace period expires while users are refused) as a real EVTX file and
runs tsdiag scan on it, so you can see a diagnosis without a broken server.
Its findings never make the exit code 1: it exits 0 unless something broke.`,
		Example: `  tsdiag demo
  tsdiag demo --width 80 --color always | less -R
  tsdiag demo --scenario license-server-unreachable-2016 --keep
  tsdiag demo --format markdown`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g, err := globals(cmd)
			if err != nil {
				return withCode(exitError, err)
			}
			o.g = g
			return runDemo(o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.id, "scenario", demoScenario, "built-in `SCENARIO` to write (tsdiag gen --list)")
	f.BoolVar(&o.keep, "keep", false, "keep the EVTX file instead of deleting it")
	f.StringVar(&o.format, "format", "text", "report format: "+strings.Join(report.Formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("scenario", scenarioCompletion)
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(report.Formats...))
	return cmd
}

func runDemo(o demoOptions, stdout, stderr io.Writer) error {
	s, err := findScenario(o.id)
	if err != nil {
		return withCode(exitError, err)
	}
	dir, err := os.MkdirTemp("", "tsdiag-demo-")
	if err != nil {
		return withCode(exitError, err)
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	path := filepath.Join(dir, s.ID+".evtx")
	n, err := writeScenario(s, path, 1, scenario.DefaultStart, 0)
	if err != nil {
		return withCode(exitError, err)
	}
	// Only the text report gets the preamble: the other formats are
	// documents a tool may read from stdout.
	if o.format == "text" {
		width := textWidth(o.g.Width, stdout)
		fmt.Fprintln(stdout, fold("tsdiag demo: "+s.Title, 2, width))
		kept := "kept: remove it when done"
		if !o.keep {
			kept = "--keep keeps it"
		}
		fmt.Fprintln(stdout, fold(fmt.Sprintf("  %d records written to a temporary file (%s), scanned with:", n, kept), 4, width))
		// The path alone on its line: it is a command to copy.
		fmt.Fprintf(stdout, "  $ tsdiag scan %s\n\n", path)
	}
	return demoScan(path, o, stdout, stderr)
}

// demoScan runs the real scan command on path with the demo's global
// flags; findings are the point of the demo, so they never turn into a
// failing exit code.
func demoScan(path string, o demoOptions, stdout, stderr io.Writer) error {
	root := newRoot(stdout, stderr)
	args := []string{"scan", "--fail-on", "none", "--format", o.format, "--color", o.g.Color}
	if o.g.Width > 0 {
		args = append(args, "--width", strconv.Itoa(o.g.Width))
	}
	if o.g.Verbose {
		args = append(args, "--verbose")
	}
	root.SetArgs(append(args, path))
	return root.Execute()
}

// fold is the text report's folding, for the demo's own lines.
func fold(s string, hang, width int) string { return report.Fold(s, hang, width) }
