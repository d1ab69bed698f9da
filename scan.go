package tsdiag

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/internal/report"
)

// Input is one thing to scan: a path (file, folder, bundle) or a reader.
type Input struct {
	path string
	name string
	r    io.Reader
}

// Path is a file, folder or bundle to scan; "-" is standard input.
func Path(p string) Input { return Input{path: p, name: p} }

// Reader is a stream to scan (a log, an XML export or a bundle, recognised
// from its bytes), named name in the report. It is read once: registry
// exports in it come too late for the rules, and a relative since needs
// Config.Now. A scan takes one reader at most.
func Reader(name string, r io.Reader) Input { return Input{path: "-", name: name, r: r} }

// Paths turns paths into inputs.
func Paths(ps ...string) []Input {
	out := make([]Input, len(ps))
	for i, p := range ps {
		out[i] = Path(p)
	}
	return out
}

// stream tells whether the input is read once, as a stream: stdin, a FIFO,
// a process substitution (/dev/fd/N). The first pass must not touch those.
func (in Input) stream() bool {
	if in.path == "-" {
		return true
	}
	fi, err := os.Stat(in.path)
	return err == nil && fi.Mode()&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeCharDevice) != 0
}

// Scan reads the inputs and diagnoses them: the report `tsdiag scan`
// renders. An error means the scan could not run (bad window, no input
// readable, ctx cancelled); inputs that could not be read are listed in the
// report (Report.Incomplete) and the others still count.
func (d *Diagnoser) Scan(ctx context.Context, inputs ...Input) (*Report, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(inputs) == 0 {
		return nil, errors.New("no PATH given")
	}
	sc, err := d.newScan(inputs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := sc.run(ctx); err != nil {
		return nil, err
	}
	res := sc.res
	kept, hidden, expired := d.sup.Apply(res.findings, d.clock())
	kept = engine.Unlink(kept)
	now := d.cfg.Now
	if now.IsZero() {
		now = res.newest
	}
	names := make([]string, len(inputs))
	for i, in := range inputs {
		names[i] = in.name
	}
	return &report.Report{
		Version: report.SchemaVersion, Tool: d.cfg.Tool, Inputs: names,
		Stats: res.stats, Engine: res.engine, Duration: time.Since(start), Now: now, FailOn: d.cfg.FailOn,
		Rules: report.RulesOf(d.set), Findings: report.Items(kept, d.base),
		Suppressed: hidden, ExpiredSuppressions: expired, Histogram: res.hist.Buckets(),
		Config: res.config, Window: res.window,
	}, nil
}

// scan is one Scan call's state.
type scan struct {
	d      *Diagnoser
	inputs []Input
	stdin  io.Reader
	res    scanResult
}

type scanResult struct {
	findings []engine.Finding
	stats    evtx.Stats
	engine   engine.Stats
	hist     report.DayCounter
	newest   time.Time                // newest licensing event in the window
	config   map[string]regcfg.Config // licensing configuration by host
	window   report.Window
}

func (d *Diagnoser) newScan(inputs []Input) (*scan, error) {
	sc := &scan{d: d, inputs: inputs}
	for _, in := range inputs {
		if in.r == nil {
			continue
		}
		if sc.stdin != nil {
			return nil, errors.New("a scan reads one reader at most")
		}
		sc.stdin = in.r
	}
	if d.cfg.SinceAgo > 0 && d.cfg.Now.IsZero() {
		for _, in := range inputs {
			if in.stream() {
				return nil, fmt.Errorf("--since %s counts back from the newest event, and %s cannot be read twice to find it: give --now as well (the reference time)",
					durationText(d.cfg.SinceAgo), streamName(in))
			}
		}
	}
	return sc, nil
}

func streamName(in Input) string {
	if in.name == "-" || in.name == "" {
		return "standard input"
	}
	return in.name + " (a stream)"
}

// run streams the inputs through the engine: all of them as one stream, or
// with Separate each input through its own engine (one case per support
// bundle: hosts of different customers that share a name are not merged,
// and each case's countdowns run from its own newest event).
func (sc *scan) run(ctx context.Context) error {
	if !sc.d.cfg.Separate {
		return sc.once(ctx, sc.inputs)
	}
	for _, in := range sc.inputs {
		if err := sc.once(ctx, []Input{in}); err != nil {
			if ctx.Err() != nil {
				return err
			}
			// Nothing in this input could be read: the others still count.
			u := sc.res.stats.Unreadable
			if len(u) == 0 || u[len(u)-1].File != in.path {
				sc.res.stats.Unreadable = append(u, evtx.Damage{File: in.path, Kind: "file", Reason: err.Error()})
			}
		}
	}
	if sc.res.stats.Files == 0 {
		names := make([]string, len(sc.inputs))
		for i, in := range sc.inputs {
			names[i] = in.name
		}
		return fmt.Errorf("no input could be read: %s", strings.Join(names, ", "))
	}
	sortFindings(sc.res.findings)
	return nil
}

// sortFindings merges the ranked lists of several engines in the engine's
// own order (score, severity, rule, group), then by the input the evidence
// came from, so the result never depends on the order of inputs.
//
// Each engine lists a cause's symptoms right after it: a cause and its
// symptoms move as one block, ordered by the cause.
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

// once runs one engine over inputs and adds what it found to the result.
func (sc *scan) once(ctx context.Context, inputs []Input) error {
	paths := make([]string, len(inputs))
	for i, in := range inputs {
		paths[i] = in.path
	}
	// Registry exports first: rules see the configuration from the first
	// event on. The same pass finds the newest licensing event when a
	// relative since needs it.
	reg := newRegConfig(paths)
	newest := sc.firstPass(reg, inputs)
	win, err := sc.d.window(newest)
	if err != nil {
		return err
	}
	ruled := reg.engineOptions(&win)
	hosts := map[string]bool{}
	eng := engine.New(sc.d.set, win)
	opts := source.Options{Filter: sc.d.set.Filter(), Stdin: sc.stdin, OnOther: reg.take, Progress: sc.d.cfg.Progress}
	w := &sc.res.window
	before, after := w.Before, w.After
	if !sc.d.cfg.Separate || w.Since.IsZero() || win.Since.Before(w.Since) {
		w.Since = win.Since
	}
	w.Until = win.Until
	stats, err := source.Walk(paths, opts, func(ev *evtx.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(hosts) < 4096 {
			hosts[engine.HostKey(ev.Computer)] = true
		}
		t := ev.TimeCreated
		if t.After(w.Newest) {
			w.Newest = t
		}
		switch {
		case !win.Since.IsZero() && t.Before(win.Since):
			w.Before++
		case !win.Until.IsZero() && t.After(win.Until):
			w.After++
		default:
			w.Kept++
			sc.res.hist.Add(t)
			if t.After(sc.res.newest) {
				sc.res.newest = t
			}
		}
		return eng.Feed(ev)
	})
	sc.res.stats.Add(stats)
	if sc.d.cfg.Separate {
		w.Cases = append(w.Cases, report.CaseWindow{Input: strings.Join(paths, ", "), Since: win.Since, Until: win.Until,
			Before: w.Before - before, After: w.After - after})
	}
	if err != nil {
		return err
	}
	found := eng.Finish()
	// --separate merges several cases: keys stay unique in the report.
	taken := make(map[string]bool, len(sc.res.findings))
	for _, f := range sc.res.findings {
		taken[f.Key] = true
	}
	engine.QualifyKeys(found, taken, " ("+strings.Join(paths, ", ")+")")
	sc.res.findings = append(sc.res.findings, found...)
	sc.res.addConfig(reg.report(ruled, hosts), strings.Join(paths, ", "))
	addEngineStats(&sc.res.engine, eng.Stats())
	return nil
}

func addEngineStats(s *engine.Stats, o engine.Stats) {
	s.Events += o.Events
	s.Skipped += o.Skipped
	s.Matched += o.Matched
	s.Late += o.Late
	s.EvalErrors += o.EvalErrors
	s.AddRuleProblems(o.RuleProblems)
	s.Transient += o.Transient
	s.Duplicates += o.Duplicates
	s.DedupUnchecked += o.DedupUnchecked
	s.GroupsOverflow += o.GroupsOverflow
	s.FindingsOverflow += o.FindingsOverflow
	for _, r := range o.OverflowRules {
		if !slices.Contains(s.OverflowRules, r) {
			s.OverflowRules = append(s.OverflowRules, r)
		}
	}
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

// addConfig merges one engine run's configuration into the scan's; with
// Separate, a host name already taken by another input gets that input
// appended, so cases stay apart.
func (r *scanResult) addConfig(cfg map[string]regcfg.Config, input string) {
	for l, c := range cfg {
		if r.config == nil {
			r.config = map[string]regcfg.Config{}
		}
		key := l
		if _, taken := r.config[key]; taken {
			key = l + " (" + input + ")"
		}
		r.config[key] = c
	}
}
