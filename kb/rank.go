package kb

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tsdiag/tsdiag/engine"
)

// RankedStep is a remediation step placed for one finding.
type RankedStep struct {
	Rank int `json:"rank"`
	Step
	Why string `json:"why"`
}

// boostEnv is what a step's boost_when condition sees: the finding's
// count, facts, group values and a few derived figures.
func boostEnv(f engine.Finding) map[string]any {
	facts := f.Facts
	if facts == nil {
		facts = map[string]any{}
	}
	group := f.Group
	if group == nil {
		group = map[string]string{}
	}
	var ids []int
	seen := map[uint16]bool{}
	for _, e := range f.Evidence {
		if !seen[e.EventID] {
			seen[e.EventID] = true
			ids = append(ids, int(e.EventID))
		}
	}
	days := 0.0
	if !f.FirstSeen.IsZero() && f.LastSeen.After(f.FirstSeen) {
		days = f.LastSeen.Sub(f.FirstSeen).Hours() / 24
	}
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
	p, err := expr.Compile(src, expr.Env(boostEnv(engine.Finding{})), expr.AsBool())
	if err != nil {
		return nil, err
	}
	boostCache[src] = p
	return p, nil
}

// boosted reports whether the step's condition holds for f. A condition
// that cannot be evaluated (a fact missing, a nil compared) does not hold.
func boosted(s Step, f engine.Finding) bool {
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
// by prior likelihood and risk, last-resort steps last.
func Default(a Article) []RankedStep {
	return rank(a, func(Step) bool { return false })
}

// Rank orders an article's steps for one finding: last-resort steps last;
// otherwise by likelihood of fixing this case (the step's prior, raised
// when its boost_when condition holds for the evidence), then by risk
// (safe before caution before destructive), then as written.
func Rank(f engine.Finding, a Article) []RankedStep {
	return rank(a, func(s Step) bool { return boosted(s, f) })
}

func rank(a Article, boost func(Step) bool) []RankedStep {
	type scored struct {
		RankedStep
		score float64
		pos   int
	}
	all := make([]scored, 0, len(a.Steps))
	for i, s := range a.Steps {
		sc := scored{RankedStep: RankedStep{Step: s}, score: s.Likelihood, pos: i}
		switch {
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
		if s.LastResort {
			sc.Why = "last resort: " + sc.Why
		}
		all = append(all, sc)
	}
	sort.SliceStable(all, func(i, j int) bool {
		x, y := all[i], all[j]
		if x.LastResort != y.LastResort {
			return !x.LastResort
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
