package tsdiag

import (
	"errors"
	"fmt"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/engine/suppress"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/kb"
	"github.com/tsdiag/tsdiag/rules"
)

// The report and what it holds, named here so an embedder never imports
// internal/.
type (
	// Report is everything one scan produced; Write renders it.
	Report = report.Report
	// Item is a finding with its knowledge-base article and ranked steps.
	Item = report.Item
	// Finding is one diagnosis for one host (or group).
	Finding = engine.Finding
	// Event is one decoded event, what Stream.Feed takes.
	Event = evtx.Event
	// LicensingConfig is one host's licensing configuration, read from
	// registry exports or the local registry.
	LicensingConfig = regcfg.Config
	// WriteOptions tune rendering (colour in text).
	WriteOptions = report.Options
	// Window is the time window a scan applied and what it set aside.
	Window = report.Window
)

// Config is what a Diagnoser is built from; the zero value is the CLI's
// defaults (built-in rules, embedded knowledge base, --fail-on high).
type Config struct {
	RuleDirs  []string   // rule folders loaded over the built-in pack (same id replaces)
	NoBuiltin bool       // do not load the built-in pack (RuleDirs then required)
	Rules     *rules.Set // an already loaded rule set; overrides RuleDirs and NoBuiltin
	KB        *kb.Base   // knowledge base; nil = the embedded one

	Suppress     string         // suppression file (TOML) of accepted findings
	Suppressions *suppress.File // or the file already parsed; overrides Suppress

	FailOn string // severity at which Verdict fails (info … critical, or "none"); "" = high

	// Since and Until set aside events outside [Since, Until] (zero = open).
	// SinceAgo, when positive, sets Since to that long before the reference
	// time: Now, else the newest licensing event of the inputs (found by a
	// first pass, so a reader input then needs Now).
	Since, Until time.Time
	SinceAgo     time.Duration
	// Now is the reference time for countdowns such as days left; zero =
	// the newest event.
	Now time.Time

	Separate  bool // diagnose each input on its own (one case per support bundle)
	KeepGoing bool // unreadable inputs, or a window that set aside every licensing event, do not make Verdict 2

	Tool     string                             // version the report names; "" = Version()
	Clock    func() time.Time                   // wall clock for suppression expiry; nil = time.Now
	Progress func(done, total int64, files int) // called as input is read
	Warn     func(msg string)                   // warnings that are no error (a suppression matching nothing)
}

// Diagnoser runs scans and streams with one loaded rule set, knowledge
// base and suppression file. It may be used for several scans, one at a
// time.
type Diagnoser struct {
	cfg  Config
	set  *rules.Set
	base *kb.Base
	sup  *suppress.File
}

// New loads the rules, the knowledge base and the suppression file.
func New(cfg Config) (*Diagnoser, error) {
	if cfg.FailOn == "" {
		cfg.FailOn = "high"
	}
	if err := report.ValidFailOn(cfg.FailOn); err != nil {
		return nil, err
	}
	if cfg.SinceAgo < 0 {
		return nil, errors.New("SinceAgo is negative")
	}
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && cfg.Until.Before(cfg.Since) {
		return nil, fmt.Errorf("--until %s is before --since %s", stampOf(cfg.Until), stampOf(cfg.Since))
	}
	if cfg.Tool == "" {
		cfg.Tool = Version()
	}
	d := &Diagnoser{cfg: cfg, set: cfg.Rules, base: cfg.KB, sup: cfg.Suppressions}
	// The knowledge base loads while the rules compile: both are the serial
	// start of a scan, and they do not depend on each other.
	kbErr := make(chan error, 1)
	if d.base == nil {
		go func() {
			var err error
			d.base, err = kb.Load()
			kbErr <- err
		}()
	} else {
		kbErr <- nil
	}
	var err error
	if d.set == nil {
		d.set, err = LoadRules(cfg.NoBuiltin, cfg.RuleDirs)
	}
	if err := <-kbErr; err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	if err != nil {
		return nil, err
	}
	if d.sup == nil && cfg.Suppress != "" {
		if d.sup, err = suppress.Load(cfg.Suppress); err != nil {
			return nil, err
		}
	}
	d.warnUnknownDiagnoses()
	return d, nil
}

// LoadRules loads the built-in pack (unless noBuiltin) with dirs over it.
func LoadRules(noBuiltin bool, dirs []string) (*rules.Set, error) {
	var base *rules.Set
	if !noBuiltin {
		b, err := rules.Builtin()
		if err != nil {
			return nil, fmt.Errorf("built-in rules: %w", err)
		}
		base = b
	}
	if len(dirs) == 0 {
		if base == nil {
			return nil, errors.New("no rules: --no-builtin needs a DIR")
		}
		return base, nil
	}
	return rules.LoadOver(base, dirs...)
}

// Rules is the rule set the diagnoser runs.
func (d *Diagnoser) Rules() *rules.Set { return d.set }

// KB is the knowledge base findings are explained from.
func (d *Diagnoser) KB() *kb.Base { return d.base }

// Filter is the (provider, event id) filter of the rule set: events it
// rejects can never match a rule, and decoders skip them undecoded.
func (d *Diagnoser) Filter() evtx.Filter { return d.set.Filter() }

func (d *Diagnoser) clock() time.Time {
	if d.cfg.Clock != nil {
		return d.cfg.Clock()
	}
	return time.Now()
}

func (d *Diagnoser) warn(format string, args ...any) {
	if d.cfg.Warn != nil {
		d.cfg.Warn(fmt.Sprintf(format, args...))
	}
}

// warnUnknownDiagnoses flags suppressions that can never match: most often
// a typo, which would otherwise look like a suppression that works.
func (d *Diagnoser) warnUnknownDiagnoses() {
	if d.sup == nil {
		return
	}
	known := map[string]bool{}
	for _, r := range report.RulesOf(d.set) {
		known[r.ID], known[r.Diagnosis] = true, true
	}
	for _, a := range d.base.All() {
		known[a.ID] = true
	}
	for _, e := range d.sup.Entries {
		if !known[e.Diagnosis] {
			d.warn("%s:%d: no rule or article has the id %q; this suppression matches nothing", e.File, e.Line, e.Diagnosis)
		}
	}
}

func stampOf(t time.Time) string { return t.UTC().Format(time.RFC3339) }
