package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tsdiag/tsdiag"
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
	Color     string // auto, always, never (the global --color)
	Width     int    // text width; 0: the terminal's (the global --width)
	Verbose   bool   // scores and likelihoods in text (the global --verbose)

	Header report.Header // --title, --case, --full-paths (the HTML page shows them)

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
unreadable input, a time window that set aside every licensing event; the last
two unless --keep-going).

Times (--since, --until, --now) are RFC 3339 (2026-01-31T08:00:00Z) or a date
(2026-01-31, midnight UTC); --since also takes a duration before the reference
time (30d, 12h): --now, else the newest licensing event of the inputs, found by
a first pass over them (standard input cannot be read twice: give --now). Every
format says how many licensing events the window set aside.`

func newScanCmd() *cobra.Command {
	o := scanOptions{}
	var timeout time.Duration
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
			g, err := globals(c)
			if err != nil {
				return withCode(exitError, err)
			}
			o.Color, o.Width, o.Verbose = g.Color, g.Width, g.Verbose
			if o.Format, err = outputFormat(o.Format, o.Output, c.ErrOrStderr()); err != nil {
				return withCode(exitError, err)
			}
			// Ctrl-C stops the walk between events; the report is not written.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			code, err := scanPaths(ctx, o, c.OutOrStdout(), c.ErrOrStderr())
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				// A CI job must not hang on a hostile bundle, nor pass: exit 2.
				return withCode(exitError, fmt.Errorf("scan stopped by --timeout %s: no report written", timeout))
			}
			if err != nil || code != exitOK {
				return withCode(code, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "", "output format: "+strings.Join(report.Formats, ", ")+" (default: the one -o's extension names, else text)")
	f.StringVarP(&o.Output, "output", "o", "", "write the report to `FILE` instead of stdout")
	f.StringVar(&o.FailOn, "fail-on", "high", "exit 1 when a finding is at or above this severity: info, low, medium, high, critical, none")
	f.StringArrayVar(&o.RuleDirs, "rules", nil, "load rules from `DIR` over the built-in pack (same id replaces); repeatable")
	f.BoolVar(&o.NoBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	f.StringVar(&o.Suppress, "suppress", "", "suppression `FILE` (TOML) of accepted findings")
	f.StringVar(&o.Since, "since", "", "ignore events before this `TIME` (or a duration before the reference time, --now or the newest event, e.g. 30d)")
	f.StringVar(&o.Until, "until", "", "ignore events after this `TIME`")
	f.StringVar(&o.Now, "now", "", "reference `TIME` for countdowns such as days left (default: the newest event seen)")
	f.BoolVar(&o.KeepGoing, "keep-going", false, "report unreadable inputs, and a window that set aside every licensing event, but do not exit 2 for them")
	f.BoolVar(&o.Separate, "separate", false, "diagnose each PATH on its own (one support bundle per case): same-named hosts in different PATHs are not merged")
	f.DurationVar(&timeout, "timeout", 0, "stop the scan after `DURATION` (e.g. 10m) with exit 2 and no report; 0: no limit")
	f.StringVar(&o.Header.Title, "title", "", "report `TITLE` in the HTML page's heading (default: Remote Desktop licensing diagnosis)")
	f.StringVar(&o.Header.Case, "case", "", "case number or customer (`TEXT`) shown in the HTML page's header")
	f.BoolVar(&o.Header.FullPaths, "full-paths", false, "show inputs and evidence files with their directories in the HTML page (default: names only)")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(report.Formats...))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", fixedCompletion(append(append([]string{}, rules.Severities...), "none")...))
	return cmd
}

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// scanPaths runs the whole pipeline (the tsdiag API) and writes the
// report. It returns the exit code; err carries the message for code 2.
func scanPaths(ctx context.Context, o scanOptions, stdout, stderr io.Writer) (int, error) {
	if err := o.check(); err != nil {
		return exitError, err
	}
	d, rep, err := buildReport(ctx, o, stderr)
	if err != nil {
		return exitError, err
	}
	if err := writeReport(rep, o, stdout, stderr); err != nil {
		return exitError, err
	}
	return verdict(d, rep, stderr)
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

// apiConfig turns the flags into the API's configuration.
func (o scanOptions) apiConfig(stderr io.Writer) (tsdiag.Config, error) {
	c := tsdiag.Config{
		RuleDirs: o.RuleDirs, NoBuiltin: o.NoBuiltin, KB: o.KB, Suppress: o.Suppress, FailOn: o.FailOn,
		Separate: o.Separate, KeepGoing: o.KeepGoing, Tool: toolVersion(), Clock: o.Clock,
		Warn: func(msg string) { fmt.Fprintf(stderr, "tsdiag: warning: %s\n", msg) },
	}
	err := parseWindow(o, &c)
	return c, err
}

// inputs are the PATHs for the API; "-" is standard input.
func (o scanOptions) inputs() []tsdiag.Input {
	out := make([]tsdiag.Input, len(o.Inputs))
	for i, in := range o.Inputs {
		out[i] = tsdiag.Path(in)
		if in == "-" {
			stdin := o.Stdin
			if stdin == nil {
				stdin = os.Stdin
			}
			out[i] = tsdiag.Reader("-", stdin)
		}
	}
	return out
}

// buildReport scans and returns the report, unrendered. Tests use it to
// fix the duration before rendering golden files.
func buildReport(ctx context.Context, o scanOptions, stderr io.Writer) (*tsdiag.Diagnoser, *report.Report, error) {
	cfg, err := o.apiConfig(stderr)
	if err != nil {
		return nil, nil, err
	}
	bar := newProgress(stderr)
	if bar != nil {
		cfg.Progress = bar.update
	}
	d, err := tsdiag.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	rep, err := d.Scan(ctx, o.inputs()...)
	bar.finish()
	if rep != nil {
		rep.Header = o.Header
	}
	return d, rep, err
}

// parseWindow reads --since, --until and --now. A --since duration counts
// back from the reference time: --now, else the newest licensing event
// (the API finds it in a first pass).
func parseWindow(o scanOptions, c *tsdiag.Config) error {
	var err error
	if c.Now, err = parseTime("--now", o.Now); err != nil {
		return err
	}
	if c.Until, err = parseTime("--until", o.Until); err != nil {
		return err
	}
	if o.Since != "" {
		if d, derr := rules.ParseDuration(o.Since); derr == nil && d > 0 {
			c.SinceAgo = d
		} else if c.Since, err = parseTime("--since", o.Since); err != nil {
			return fmt.Errorf("%w, or a duration such as 30d", err)
		}
	}
	if !c.Since.IsZero() && !c.Until.IsZero() && c.Until.Before(c.Since) {
		return fmt.Errorf("--until %s is before --since %s", o.Until, o.Since)
	}
	return nil
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

func writeReport(rep *report.Report, o scanOptions, stdout, stderr io.Writer) error {
	toFile := o.Output != "" && o.Output != "-"
	colour := o.Color == "always" || (o.Color != "never" && !toFile && os.Getenv("NO_COLOR") == "" &&
		os.Getenv("TERM") != "dumb" && isTerminal(stdout))
	var buf bytes.Buffer
	if err := tsdiag.Write(&buf, rep, o.Format, tsdiag.WriteOptions{Color: colour, Width: reportWidth(o, toFile, stdout), Verbose: o.Verbose}); err != nil {
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

// verdict turns the report into the exit code (the API's Verdict), saying
// on stderr why when it is not 0 so CI logs explain a red job.
func verdict(d *tsdiag.Diagnoser, rep *report.Report, stderr io.Writer) (int, error) {
	for _, e := range rep.ExpiredSuppressions {
		fmt.Fprintf(stderr, "tsdiag: suppression %s:%d for %s expired on %s and no longer applies\n", e.File, e.Line, e.Diagnosis, e.ExpiresText())
	}
	if rep.Incomplete() {
		u := rep.Stats.Unreadable
		for _, u := range u[:min(len(u), 20)] {
			fmt.Fprintf(stderr, "tsdiag: unreadable: %s: %s\n", u.File, u.Reason)
		}
		if more := rep.Stats.UnreadableCount() - min(len(u), 20); more > 0 {
			fmt.Fprintf(stderr, "tsdiag: unreadable: %d more (the report lists the first %d)\n", more, len(u))
		}
	}
	for _, w := range rep.Warnings() {
		fmt.Fprintf(stderr, "tsdiag: warning: %s\n", w)
	}
	v := d.Verdict(rep)
	switch v.Code {
	case exitError:
		return exitError, errors.New(v.Reason)
	case exitFindings:
		fmt.Fprintf(stderr, "tsdiag: %s\n", v.Reason)
	}
	return v.Code, nil
}

// reportWidth is where text folds: --width, else the terminal's (or
// $COLUMNS) on stdout; a file is read later, elsewhere: the default.
func reportWidth(o scanOptions, toFile bool, stdout io.Writer) int {
	if o.Width > 0 || !toFile {
		return textWidth(o.Width, stdout)
	}
	return report.DefaultWidth
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
