package kb

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// RankedStep is a remediation step placed for one finding.
type RankedStep struct {
	Rank int `json:"rank"`
	Step
	Why string `json:"why"`
	// EraUnsure is set when the step is limited to some Windows versions
	// and the evidence does not show the host runs one of them: the reader
	// must check the version before following it.
	EraUnsure bool `json:"era_unsure,omitempty"`
}

// Versions names the Windows versions the step applies to.
func (s RankedStep) Versions() string { return ErasText(s.Windows) }

// Case is what the knowledge base knows of one finding when it ranks an
// article's steps: the diagnosis, its strength and its facts. It is its
// own type so the knowledge base does not depend on the engine that
// produced the finding.
type Case struct {
	ID         string
	Rule       string
	Severity   string
	Confidence float64
	Count      int
	Facts      map[string]any
	Group      map[string]string
	Host       string
	EventIDs   []int   // distinct event ids of the evidence, in first-seen order
	SpanDays   float64 // last seen minus first seen, in days
	// Era is the host's Windows version (an Eras token) when the evidence
	// pins one (a logged build number), "" otherwise. Eras is every version
	// the evidence allows (nil = unknown); steps for none of them are left
	// out.
	Era  string
	Eras []string
}

// boostEnv is what a step's boost_when condition sees: the finding's
// count, facts, group values and a few derived figures.
func boostEnv(f Case) map[string]any {
	facts := f.Facts
	if facts == nil {
		facts = map[string]any{}
	}
	group := f.Group
	if group == nil {
		group = map[string]string{}
	}
	ids := f.EventIDs
	if ids == nil {
		ids = []int{}
	}
	days := f.SpanDays
	return map[string]any{
		"ID":         f.ID,
		"Rule":       f.Rule,
		"Severity":   f.Severity,
		"Confidence": f.Confidence,
		"Count":      f.Count,
		"Facts":      facts,
		"Group":      group,
		"Host":       f.Host,
		"EventIDs":   ids,
		"SpanDays":   days,
	}
}

var (
	boostMu    sync.Mutex
	boostCache = map[string]*vm.Program{}
)

// compileBoost compiles (once) a boost condition against the finding
// environment so type errors surface when the kb loads.
func compileBoost(src string) (*vm.Program, error) {
	boostMu.Lock()
	defer boostMu.Unlock()
	if p, ok := boostCache[src]; ok {
		return p, nil
	}
	p, err := expr.Compile(src, expr.Env(boostEnv(Case{})), expr.AsBool())
	if err != nil {
		return nil, err
	}
	boostCache[src] = p
	return p, nil
}

// boosted reports whether the step's condition holds for f. A condition
// that cannot be evaluated (a fact missing, a nil compared) does not hold.
func boosted(s Step, f Case) bool {
	if s.Boost == "" {
		return false
	}
	p, err := compileBoost(s.Boost)
	if err != nil {
		return false
	}
	out, err := expr.Run(p, boostEnv(f))
	if err != nil {
		return false
	}
	ok, _ := out.(bool)
	return ok
}

// Default orders an article's steps with no evidence at hand (kb show):
// checks as written, then fixes by prior likelihood, then last resorts.
// Placeholders stay as written.
func Default(a Article) []RankedStep {
	rs := rank(a, Case{}, func(Step) bool { return false }, false)
	// With no log there is no host version to be unsure of: each step
	// still names its versions.
	for i := range rs {
		rs[i].EraUnsure = false
	}
	return rs
}

// ForEra is Default for a host known to run era: steps for other versions
// are left out, placeholders stay as written.
func ForEra(a Article, era string) []RankedStep {
	return rank(a, Case{Era: era, Eras: []string{era}}, func(Step) bool { return false }, false)
}

// Rank orders an article's steps for one finding: every check first, in
// the order written (a change never precedes the check that decides it);
// then the fixes by likelihood of fixing this case (the step's prior, raised
// when its boost_when condition holds for the evidence), then by risk (safe
// before caution before destructive), then as written; last-resort steps
// last. Steps for Windows versions the evidence rules out are left out, and
// the names the finding knows fill the placeholders.
func Rank(f Case, a Article) []RankedStep {
	return rank(a, f, func(s Step) bool { return boosted(s, f) }, true)
}

var phaseOrder = map[string]int{PhaseCheck: 0, PhaseFix: 1, PhaseLastResort: 2}

func rank(a Article, f Case, boost func(Step) bool, fill bool) []RankedStep {
	type scored struct {
		RankedStep
		score float64
		pos   int
	}
	vals := Placeholders(f)
	all := make([]scored, 0, len(a.Steps))
	for i, s := range a.Steps {
		fits, sure := eraFit(s.Windows, f.Eras)
		if !fits {
			continue
		}
		if fill {
			s = fillStep(s, vals)
		}
		sc := scored{RankedStep: RankedStep{Step: s, EraUnsure: !sure}, score: s.Likelihood, pos: i}
		switch {
		case s.Phase == PhaseCheck:
			sc.Why = "check: read-only, ranked before every change it decides"
		case boost(s):
			sc.score = math.Round((s.Likelihood+s.BoostBy)*1e6) / 1e6
			reason := s.BoostWhy
			if reason == "" {
				reason = "the evidence matches: " + s.Boost
			}
			sc.Why = fmt.Sprintf("likelihood %.2f, raised from %.2f because %s", sc.score, s.Likelihood, reason)
		default:
			sc.Why = fmt.Sprintf("likelihood %.2f", s.Likelihood)
		}
		if s.LastResort() {
			sc.Why = "last resort: " + sc.Why
		}
		all = append(all, sc)
	}
	sort.SliceStable(all, func(i, j int) bool {
		x, y := all[i], all[j]
		if px, py := phaseOrder[x.Phase], phaseOrder[y.Phase]; px != py {
			return px < py
		}
		if x.Phase == PhaseCheck {
			return x.pos < y.pos
		}
		if x.score != y.score {
			return x.score > y.score
		}
		if rx, ry := riskOrder[x.Risk], riskOrder[y.Risk]; rx != ry {
			return rx < ry
		}
		return x.pos < y.pos
	})
	out := make([]RankedStep, len(all))
	for i, s := range all {
		s.Rank = i + 1
		out[i] = s.RankedStep
	}
	return out
}

// eraFit tells whether a step for windows may apply to a host of one of
// eras (nil = unknown), and whether that is sure.
func eraFit(windows, eras []string) (fits, sure bool) {
	if len(windows) == 0 {
		return true, true
	}
	if len(eras) == 0 {
		return true, false
	}
	all := true
	any := false
	for _, e := range eras {
		if slices.Contains(windows, e) {
			any = true
		} else {
			all = false
		}
	}
	return any, all
}
