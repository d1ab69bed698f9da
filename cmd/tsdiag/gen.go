package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

func init() { register(newGenCmd) }

type genOptions struct {
	out     string
	seed    int64
	start   string
	noiseMB int64
	list    bool
}

func newGenCmd() *cobra.Command {
	var o genOptions
	cmd := &cobra.Command{
		Use:   "gen SCENARIO -o FILE.evtx",
		Short: "Write a licensing scenario as a real EVTX file",
		Long: `Write one of the built-in licensing scenarios (see --list), or a scenario
TOML file of your own, as an EVTX file shaped the way Windows writes it.
The same scenario, seed and start always give the same bytes.`,
		Example: `  tsdiag gen --list
  tsdiag gen grace-period-expired-2019 -o grace.evtx
  tsdiag gen healthy-2019-rdsh --noise-mb 1024 -o big.evtx
  tsdiag gen ./my-scenario.toml --seed 7 --start 2025-03-01 -o mine.evtx`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGen(o, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			ids, _ := scenarioCompletion(nil, nil, toComplete)
			// A scenario TOML of one's own is a file: offer files too.
			return ids, cobra.ShellCompDirectiveDefault
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", "EVTX file to write")
	f.Int64Var(&o.seed, "seed", 1, "random seed (jitter and background noise)")
	f.StringVar(&o.start, "start", scenario.DefaultStart.Format("2006-01-02"), "timeline start (YYYY-MM-DD or RFC 3339, UTC)")
	f.Int64Var(&o.noiseMB, "noise-mb", 0, "add about N MiB of background events (for benchmarks)")
	f.BoolVar(&o.list, "list", false, "list the built-in scenarios")
	return cmd
}

func runGen(o genOptions, args []string, stdout, stderr io.Writer) error {
	if o.list {
		return listScenarios(stdout)
	}
	if len(args) != 1 || o.out == "" {
		return withCode(exitError, errors.New("usage: tsdiag gen SCENARIO -o FILE.evtx (tsdiag gen --list shows the scenarios)"))
	}
	s, err := findScenario(args[0])
	if err != nil {
		return withCode(exitError, err)
	}
	start, err := parseStart(o.start)
	if err != nil {
		return withCode(exitError, err)
	}
	if o.noiseMB < 0 {
		return withCode(exitError, errors.New("--noise-mb must not be negative"))
	}
	n, err := writeScenario(s, o.out, o.seed, start, o.noiseMB<<20)
	if err != nil {
		return withCode(exitError, err)
	}
	st, err := os.Stat(o.out)
	if err != nil {
		return withCode(exitError, err)
	}
	fmt.Fprintf(stderr, "wrote %s: %d records, %d bytes (scenario %s, seed %d, start %s; expected diagnosis: %s)\n",
		o.out, n, st.Size(), s.ID, o.seed, start.Format(time.RFC3339), s.Expect.Diagnosis)
	return writeRegistryFiles(s, o.out, start, stderr)
}

func builtinScenarios() ([]scenario.Scenario, error) {
	return scenario.Load(scenario.Builtin)
}

// findScenario takes a built-in id or the path of a scenario TOML file.
func findScenario(arg string) (scenario.Scenario, error) {
	if strings.HasSuffix(arg, ".toml") {
		return scenario.LoadFile(os.DirFS(filepath.Dir(arg)), filepath.Base(arg))
	}
	all, err := builtinScenarios()
	if err != nil {
		return scenario.Scenario{}, err
	}
	s, ok := scenario.Find(all, arg)
	if !ok {
		return s, fmt.Errorf("no scenario %q (tsdiag gen --list shows them)", arg)
	}
	return s, nil
}

// scenarioCompletion offers the built-in scenario ids with their titles.
func scenarioCompletion(_ *cobra.Command, _ []string, prefix string) ([]string, cobra.ShellCompDirective) {
	all, err := builtinScenarios()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]string, 0, len(all))
	for _, s := range all {
		if strings.HasPrefix(s.ID, prefix) {
			out = append(out, s.ID+"\t"+s.Title)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func listScenarios(w io.Writer) error {
	all, err := builtinScenarios()
	if err != nil {
		return withCode(exitError, err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tERA\tDIAGNOSIS\tTITLE")
	for _, s := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Era, s.Expect.Diagnosis, s.Title)
	}
	return tw.Flush()
}

func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("--start %q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t.UTC(), nil
}

// writeScenario streams the scenario into path; it returns the record
// count. A failed write removes the partial file.
func writeScenario(s scenario.Scenario, path string, seed int64, start time.Time, noiseBytes int64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := writer.New(f)
	n := 0
	err = s.Stream(seed, start, noiseBytes, func(r writer.Record) error {
		n++
		return w.Write(r)
	})
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}
