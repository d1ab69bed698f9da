package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/engine/suppress"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/kb"
	"github.com/tsdiag/tsdiag/rules"
)

func init() { register(newScanCmd) }

// scanOptions is everything one scan needs; `tsdiag demo` fills it too.
type scanOptions struct {
	Inputs    []string
	Format    string // report.Formats
	Output    string // file to write; "" or "-" for stdout
	FailOn    string // severity or "none"
	RuleDirs  []string
	NoBuiltin bool
	Suppress  string // suppression file
	Since     string // time or duration before the reference time
	Until     string
	Now       string // reference time for countdowns; "" = newest event
	KeepGoing bool   // unreadable inputs do not make the exit code 2
	Separate  bool   // diagnose each PATH on its own (one case per bundle)
	Color     string // auto, always, never

	Stdin io.Reader        // for "-"; nil = os.Stdin
	Clock func() time.Time // wall clock for suppression expiry; nil = time.Now
	KB    *kb.Base         // knowledge base; nil = the embedded one
}

const scanLong = `Scan event logs and diagnose Remote Desktop licensing problems.

PATH may be an .evtx file, a legacy .evt file, an XML export (wevtutil qe /f:xml,
Event Viewer "Save As XML", Get-WinEvent ToXml()), a directory (read recursively),
a .zip/.tar/.tar.gz support bundle (read as a stream, one nested bundle deep), or
- for stdin. Formats are recognised from the bytes, not the file name.

Registry exports (.reg files as regedit or 'reg export' write them) among the
inputs, in folders or in bundles are read as the licensing configuration
(LicensingMode, SpecifiedLicenseServers, DefaultLicenseServer, the GracePeriod
key) before any event is evaluated: the report states it ("Configuration
seen") and rules read it with Cfg(). A .reg file does not name its computer:
it belongs to the host named by the folder holding it (RDSH01/licensing.reg),
else by its file name up to the first '-', '_', '.' or space
(RDSH01-TermService.reg). When only one host has exports they apply to every
host. Exports on stdin are reported but come too late for the rules.

Exit codes: 0 no finding at or above --fail-on; 1 a finding at or above --fail-on;
2 the tool could not do its job (bad flags, broken rules or suppression file, an
unreadable input unless --keep-going).

Times (--since, --until, --now) are RFC 3339 (2026-01-31T08:00:00Z) or a date
(2026-01-31, midnight UTC); --since also takes a duration before the reference
time (30d, 12h).`

func newScanCmd() *cobra.Command {
	o := scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH...",
		Short: "Diagnose licensing problems in event logs, files, folders and support bundles",
		Long:  scanLong,
		Example: `  tsdiag scan System.evtx
  tsdiag scan --format html -o report.html bundle.zip
  tsdiag scan --format sarif -o tsdiag.sarif --fail-on medium bundles/
  wevtutil qe System /f:xml | tsdiag scan -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Inputs = args
			if !c.Flags().Changed("format") {
				o.Format = formatFromName(o.Output, o.Format)
			}
			// Ctrl-C stops the walk between events; the report is not written.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			code, err := scanPaths(ctx, o, c.OutOrStdout(), c.ErrOrStderr())
			if err != nil || code != exitOK {
				return withCode(code, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "text", "output format: "+strings.Join(report.Formats, ", ")+" (default from the -o extension, else text)")
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&o.FailOn, "fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical, none")
	f.StringArrayVar(&o.RuleDirs, "rules", nil, "load rules from `DIR` over the built-in pack (same id replaces); repeatable")
	f.BoolVar(&o.NoBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	f.StringVar(&o.Suppress, "suppress", "", "suppression `FILE` (TOML) of accepted findings")
	f.StringVar(&o.Since, "since", "", "ignore events before this `TIME` (or duration before the reference time, e.g. 30d)")
	f.StringVar(&o.Until, "until", "", "ignore events after this `TIME`")
	f.StringVar(&o.Now, "now", "", "reference `TIME` for countdowns such as days left (default: the newest event seen)")
	f.BoolVar(&o.KeepGoing, "keep-going", false, "report unreadable inputs but do not exit 2 for them")
	f.BoolVar(&o.Separate, "separate", false, "diagnose each PATH on its own (one support bundle per case): same-named hosts in different PATHs are not merged")
	f.StringVar(&o.Color, "color", "auto", "colour in text output: auto (terminal and no NO_COLOR), always, never")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(report.Formats...))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", fixedCompletion(append(append([]string{}, rules.Severities...), "none")...))
	_ = cmd.RegisterFlagCompletionFunc("color", fixedCompletion("auto", "always", "never"))
	return cmd
}

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// formatFromName picks the format a report file's extension names
// (report.html, tsdiag.sarif, results.xml for JUnit), else def.
func formatFromName(name, def string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "json"
	case ".sarif":
		return "sarif"
	case ".xml":
		return "junit"
	case ".html", ".htm":
		return "html"
	case ".md", ".markdown":
		return "markdown"
	case ".txt":
		return "text"
	}
	return def
}

// scanPaths runs the whole pipeline (inputs → decoder → rules → findings +
// kb → report) and writes the report. It returns the exit code; err carries
// the message for code 2.
func scanPaths(ctx context.Context, o scanOptions, stdout, stderr io.Writer) (int, error) {
	if err := o.check(); err != nil {
		return exitError, err
	}
	rep, err := buildReport(ctx, o, stderr)
	if err != nil {
		return exitError, err
	}
	if err := writeReport(rep, o, stdout, stderr); err != nil {
		return exitError, err
	}
	return verdict(rep, o, stderr)
}

func (o *scanOptions) check() error {
	if o.Format == "" {
		o.Format = "text"
	}
	if !contains(report.Formats, o.Format) {
		return fmt.Errorf("--format %q: want one of %s", o.Format, strings.Join(report.Formats, ", "))
	}
	if o.FailOn == "" {
		o.FailOn = "high"
	}
	if err := report.ValidFailOn(o.FailOn); err != nil {
		return err
	}
	switch o.Color {
	case "", "auto", "always", "never":
	default:
		return fmt.Errorf("--color %q: want auto, always or never", o.Color)
	}
	if len(o.Inputs) == 0 {
		return errors.New("no PATH given")
	}
	return nil
}

// buildReport scans and returns the report, unrendered. Tests use it to
// fix the duration before rendering golden files.
func buildReport(ctx context.Context, o scanOptions, stderr io.Writer) (*report.Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	// The knowledge base loads while the rules compile: both are the
	// serial start of a scan, and they do not depend on each other.
	base, kbErr := o.KB, make(chan error, 1)
	if base == nil {
		go func() {
			var err error
			base, err = kb.Load()
			kbErr <- err
		}()
	} else {
		kbErr <- nil
	}
	set, err := loadRuleSet(o.NoBuiltin, o.RuleDirs)
	if err := <-kbErr; err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	if err != nil {
		return nil, err
	}
	var sup *suppress.File
	if o.Suppress != "" {
		if sup, err = suppress.Load(o.Suppress); err != nil {
			return nil, err
		}
		warnUnknownDiagnoses(stderr, sup, set, base)
	}
	win, err := parseWindow(o, o.clock())
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res, err := runScan(ctx, o, set, win, stderr)
	if err != nil {
		return nil, err
	}
	kept, hidden, expired := sup.Apply(res.findings, o.clock())
	now := win.Now
	if now.IsZero() {
		now = res.newest
	}
	return &report.Report{
		Version: report.SchemaVersion, Tool: toolVersion(), Inputs: o.Inputs,
		Stats: res.stats, Engine: res.engine, Duration: time.Since(start), Now: now, FailOn: o.FailOn,
		Rules: report.RulesOf(set), Findings: report.Items(kept, base),
		Suppressed: hidden, ExpiredSuppressions: expired, Histogram: res.hist.Buckets(),
		Config: res.config,
	}, nil
}

type scanResult struct {
	findings []engine.Finding
	stats    evtx.Stats
	engine   engine.Stats
	hist     report.DayCounter
	newest   time.Time
	config   map[string]regcfg.Config // licensing configuration by host
}

// runScan streams the inputs through the engine: all of them as one
// stream, or with --separate each PATH through its own engine (one case per
// support bundle: hosts of different customers that share a name are not
// merged, and each case's countdowns run from its own newest event).
func runScan(ctx context.Context, o scanOptions, set *rules.Set, win engine.Options, stderr io.Writer) (*scanResult, error) {
	if !o.Separate {
		return scanOnce(ctx, o, o.Inputs, set, win, stderr, &scanResult{})
	}
	res := &scanResult{}
	for _, in := range o.Inputs {
		var err error
		if _, err = scanOnce(ctx, o, []string{in}, set, win, stderr, res); err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			// Nothing in this input could be read: the others still count.
			if len(res.stats.Unreadable) == 0 || res.stats.Unreadable[len(res.stats.Unreadable)-1].File != in {
				res.stats.Unreadable = append(res.stats.Unreadable, evtx.Damage{File: in, Kind: "file", Reason: err.Error()})
			}
		}
	}
	if res.stats.Files == 0 {
		return nil, fmt.Errorf("no input could be read: %s", strings.Join(o.Inputs, ", "))
	}
	sortFindings(res.findings)
	return res, nil
}

// sortFindings merges the ranked lists of several engines in the engine's
// own order (score, severity, rule, group), then by the input the evidence
// came from, so the result never depends on the order of PATHs. Each
// engine lists a cause's symptoms right after it: a cause and its symptoms
// move as one block, ordered by the cause.
func sortFindings(fs []engine.Finding) {
	var blocks [][]engine.Finding
	for _, f := range fs {
		if f.CausedBy != "" && len(blocks) > 0 {
			blocks[len(blocks)-1] = append(blocks[len(blocks)-1], f)
			continue
		}
		blocks = append(blocks, []engine.Finding{f})
	}
	sort.SliceStable(blocks, func(i, j int) bool {
		a, b := &blocks[i][0], &blocks[j][0]
		if c := engine.Compare(a, b); c != 0 {
			return c < 0
		}
		return firstFile(a) < firstFile(b)
	})
	out := fs[:0]
	for _, b := range blocks {
		out = append(out, b...)
	}
}

func firstFile(f *engine.Finding) string {
	if len(f.Evidence) == 0 {
		return ""
	}
	return f.Evidence[0].File
}

// scanOnce runs one engine over inputs and adds what it found to res.
func scanOnce(ctx context.Context, o scanOptions, inputs []string, set *rules.Set, win engine.Options, stderr io.Writer, res *scanResult) (*scanResult, error) {
	// Registry exports first: rules see the configuration from the first
	// event on.
	reg := newRegConfig(inputs)
	reg.firstPass(inputs)
	ruled := reg.engineOptions(&win)
	hosts := map[string]bool{}
	eng := engine.New(set, win)
	bar := newProgress(stderr)
	opts := source.Options{Filter: set.Filter(), Stdin: o.Stdin, OnOther: reg.take}
	if bar != nil {
		opts.Progress = bar.update
	}
	stats, err := source.Walk(inputs, opts, func(ev *evtx.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(hosts) < 4096 {
			hosts[engine.HostKey(ev.Computer)] = true
		}
		if inWindow(ev.TimeCreated, win) {
			res.hist.Add(ev.TimeCreated)
			if ev.TimeCreated.After(res.newest) {
				res.newest = ev.TimeCreated
			}
		}
		return eng.Feed(ev)
	})
	bar.finish()
	res.stats.Add(stats)
	if err != nil {
		return nil, err
	}
	found := eng.Finish()
	// --separate merges several cases: keys stay unique in the report.
	taken := make(map[string]bool, len(res.findings))
	for _, f := range res.findings {
		taken[f.Key] = true
	}
	engine.QualifyKeys(found, taken, " ("+strings.Join(inputs, ", ")+")")
	res.findings = append(res.findings, found...)
	res.addConfig(reg.report(ruled, hosts), strings.Join(inputs, ", "))
	addEngineStats(&res.engine, eng.Stats())
	return res, nil
}

func addEngineStats(s *engine.Stats, o engine.Stats) {
	s.Events += o.Events
	s.Skipped += o.Skipped
	s.Matched += o.Matched
	s.Late += o.Late
	s.EvalErrors += o.EvalErrors
	s.Duplicates += o.Duplicates
	s.DedupUnchecked += o.DedupUnchecked
	for f, n := range o.DuplicatesByFile {
		if s.DuplicatesByFile == nil {
			s.DuplicatesByFile = map[string]int{}
		}
		s.DuplicatesByFile[f] += n
	}
	if s.FirstError == "" {
		s.FirstError = o.FirstError
	}
}

func inWindow(t time.Time, w engine.Options) bool {
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || !t.After(w.Until))
}

func (o scanOptions) clock() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

// parseWindow reads --since, --until and --now. A --since duration counts
// back from --now, or from the wall clock when --now is not given.
func parseWindow(o scanOptions, wall time.Time) (engine.Options, error) {
	var w engine.Options
	var err error
	if w.Now, err = parseTime("--now", o.Now); err != nil {
		return w, err
	}
	if w.Until, err = parseTime("--until", o.Until); err != nil {
		return w, err
	}
	if o.Since != "" {
		if d, derr := rules.ParseDuration(o.Since); derr == nil && d > 0 {
			ref := w.Now
			if ref.IsZero() {
				ref = wall
			}
			w.Since = ref.Add(-d)
		} else if w.Since, err = parseTime("--since", o.Since); err != nil {
			return w, fmt.Errorf("%w, or a duration such as 30d", err)
		}
	}
	if !w.Since.IsZero() && !w.Until.IsZero() && w.Until.Before(w.Since) {
		return w, fmt.Errorf("--until %s is before --since %s", o.Until, o.Since)
	}
	return w, nil
}

func parseTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 (2026-01-31T08:00:00Z) or a date (2026-01-31)", flag, s)
}

// warnUnknownDiagnoses flags suppressions that can never match: most often
// a typo, which would otherwise look like a suppression that works.
func warnUnknownDiagnoses(w io.Writer, sup *suppress.File, set *rules.Set, base *kb.Base) {
	known := map[string]bool{}
	for _, r := range report.RulesOf(set) {
		known[r.ID], known[r.Diagnosis] = true, true
	}
	for _, a := range base.All() {
		known[a.ID] = true
	}
	for _, e := range sup.Entries {
		if !known[e.Diagnosis] {
			fmt.Fprintf(w, "tsdiag: warning: %s:%d: no rule or article has the id %q; this suppression matches nothing\n", e.File, e.Line, e.Diagnosis)
		}
	}
}

func writeReport(rep *report.Report, o scanOptions, stdout, stderr io.Writer) error {
	toFile := o.Output != "" && o.Output != "-"
	colour := o.Color == "always" || (o.Color != "never" && !toFile && os.Getenv("NO_COLOR") == "" &&
		os.Getenv("TERM") != "dumb" && isTerminal(stdout))
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, o.Format, report.Options{Color: colour}); err != nil {
		return fmt.Errorf("rendering %s: %w", o.Format, err)
	}
	if !toFile {
		_, err := stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(o.Output, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	fmt.Fprintf(stderr, "tsdiag: %s\ntsdiag: %s report written to %s\n", report.SummaryLine(rep), o.Format, o.Output)
	return nil
}

// verdict turns the report into the exit code, saying on stderr why when
// it is not 0 so CI logs explain a red job.
func verdict(rep *report.Report, o scanOptions, stderr io.Writer) (int, error) {
	for _, e := range rep.ExpiredSuppressions {
		fmt.Fprintf(stderr, "tsdiag: suppression %s:%d for %s expired on %s and no longer applies\n", e.File, e.Line, e.Diagnosis, e.ExpiresText())
	}
	if rep.Incomplete() {
		for _, u := range rep.Stats.Unreadable {
			fmt.Fprintf(stderr, "tsdiag: unreadable: %s: %s\n", u.File, u.Reason)
		}
		if !o.KeepGoing {
			return exitError, fmt.Errorf("scan incomplete: %d input(s) could not be read (--keep-going to accept)", len(rep.Stats.Unreadable))
		}
	}
	if failing := rep.Failing(); len(failing) > 0 {
		fmt.Fprintf(stderr, "tsdiag: %d finding(s) at or above --fail-on %s; the first: %s (%s)\n",
			len(failing), o.FailOn, failing[0].ID, failing[0].Severity)
		return exitFindings, nil
	}
	return exitOK, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// progress draws bytes done of total and files read on stderr, only when
// stderr is a terminal.
type progress struct{ bar *progressbar.ProgressBar }

func newProgress(stderr io.Writer) *progress {
	if !isTerminal(stderr) {
		return nil
	}
	return &progress{bar: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("scanning"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionUseANSICodes(true),
	)}
}

func (p *progress) update(done, total int64, files int) {
	if total > 0 && p.bar.GetMax64() != total {
		p.bar.ChangeMax64(total)
	}
	p.bar.Describe(fmt.Sprintf("scanning, %d files", files))
	_ = p.bar.Set64(done)
}

func (p *progress) finish() {
	if p != nil {
		_ = p.bar.Finish()
	}
}
