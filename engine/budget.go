package engine

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// Per-rule budgets. expr bounds one evaluation: rules/compile.go compiles
// with expr.MaxNodes ("MaxNodes sets the maximum number of nodes allowed in
// the expression", expr-lang/expr expr.go; added in
// https://github.com/expr-lang/expr/pull/799) and runs each evaluation on a
// vm.VM with MemoryBudget set (the VM panics "memory budget exceeded" once
// ranges, arrays, maps and loop scopes pass it; the maintainer's answer in
// https://github.com/expr-lang/expr/discussions/778). expr has no bound on
// a run's time and no way to interrupt one (expr.WithContext only hands a
// context to functions that take one), so a rule that stays inside both
// budgets on every event can still cost milliseconds per event and turn a
// 0.07 s scan into minutes (issue #19). The engine therefore measures each
// rule's evaluations between runs and switches off, for the rest of the
// run, a rule that has spent more than RuleBudget in all while averaging
// more than SlowEvaluation per evaluation. The average keeps an honest rule
// on a huge log running (builtin rules take 1-10 µs an evaluation); the
// total keeps a rule that is only occasionally slow running. One
// evaluation in progress is never cut short: the overshoot is at most one
// evaluation, which expr's own budgets bound.
var (
	// DefaultRuleBudget is the total evaluation time a rule may spend
	// before it can be judged slow (Options.RuleBudget zero). A variable
	// so tests can lower it for a run of the CLI.
	DefaultRuleBudget = 5 * time.Second
)

// SlowEvaluation is the mean evaluation time past which a rule over its
// budget is switched off.
const SlowEvaluation = 100 * time.Microsecond

// Failing rules. An evaluation that errors (a type mismatch at run time, a
// budget exceeded, a panic inside expr) counts as no match; a rule that
// fails on some events still judges the others, so it is reported but
// kept. A rule whose evaluations fail at least half the time is not doing
// its job: once MinFailuresToSkip of them have failed it is switched off,
// and at the end any rule with half or more of its evaluations failed is
// counted as skipped. A skipped rule (slow or failing) makes the run
// incomplete: what it would have found is missing.
const MinFailuresToSkip = 20

// Reasons a rule was switched off (RuleProblem.Skipped).
const (
	SkippedSlow    = "slow"
	SkippedFailing = "failing"
)

// RuleProblem is what went wrong with one rule during the run: evaluation
// errors, or its being switched off.
type RuleProblem struct {
	Rule string `json:"rule"`
	// Evaluations counts the rule's evaluation units: one per event fed
	// to it, one per fact and per configuration check; Failed those in
	// which an expression errored.
	Evaluations int    `json:"evaluations"`
	Failed      int    `json:"failed"`
	FirstError  string `json:"first_error,omitempty"`
	// Seconds is the time its evaluations took in all; BudgetSeconds the
	// budget it was judged by (set when it was switched off as slow).
	Seconds       float64 `json:"seconds"`
	BudgetSeconds float64 `json:"budget_seconds,omitempty"`
	// Skipped is SkippedSlow or SkippedFailing when the rule was switched
	// off (or counts as not evaluated), "" when it ran to the end.
	Skipped string `json:"skipped,omitempty"`
	// SkippedAt is the time of the event being evaluated when it was
	// switched off (zero when it was judged at the end).
	SkippedAt time.Time `json:"skipped_at,omitzero"`
}

// ruleCost is one rule's evaluation account.
type ruleCost struct {
	spent    time.Duration
	evals    int
	failed   int
	firstErr string
	erred    bool // the current unit has had an error
	skipped  string
	at       time.Time
	budget   time.Duration
}

// budget is the total evaluation time per rule this run allows.
func (e *Engine) budget() time.Duration {
	if e.opts.RuleBudget != 0 {
		return e.opts.RuleBudget
	}
	return DefaultRuleBudget
}

// evalError counts an error against the rule (and the engine's total).
func (rs *ruleState) evalError(err error) {
	rs.e.evalError(err)
	rs.cost.erred = true
	if rs.cost.firstErr == "" {
		// expr adds the source and a caret on further lines; the first
		// line has the message and (line:column), and a warning is one line.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		rs.cost.firstErr = clip(printable(strings.TrimSpace(msg)))
	}
}

// printable escapes control, format (bidi) and other non-graphic
// characters: an error message can quote event data, and a warning is
// printed as it is on a terminal.
func printable(s string) string {
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// run evaluates one unit of the rule's work (fn), unless the rule is
// switched off, and charges its time and errors to the rule.
func (rs *ruleState) run(fn func()) {
	if rs.cost.skipped != "" {
		return
	}
	rs.cost.erred = false
	start := time.Now()
	fn()
	c := &rs.cost
	c.spent += time.Since(start)
	c.evals++
	if c.erred {
		c.failed++
	}
	switch {
	case rs.e.budget() > 0 && c.spent > rs.e.budget() && c.spent > time.Duration(c.evals)*SlowEvaluation:
		rs.skip(SkippedSlow)
	case c.failed >= MinFailuresToSkip && 2*c.failed >= c.evals:
		rs.skip(SkippedFailing)
	}
}

func (rs *ruleState) skip(why string) {
	rs.cost.skipped = why
	rs.cost.at = rs.e.env.Event.Time
	if why == SkippedSlow {
		rs.cost.budget = rs.e.budget()
	}
}

// feedTimed is feed under the rule's budget.
func (rs *ruleState) feedTimed(ev *evtx.Event) (matched bool) {
	rs.run(func() { matched = rs.feed(ev) })
	return matched
}

// stateOf is the correlation state of rule r (nil for a rule not in the
// engine's set).
func (e *Engine) stateOf(r *rules.Compiled) *ruleState {
	if e.byRule == nil {
		e.byRule = make(map[*rules.Compiled]*ruleState, len(e.rules))
		for _, rs := range e.rules {
			e.byRule[rs.rule] = rs
		}
	}
	return e.byRule[r]
}

// ruleProblems lists the rules that had evaluation errors or were
// switched off, by rule id.
func (e *Engine) ruleProblems() []RuleProblem {
	var out []RuleProblem
	for _, rs := range e.rules {
		c := rs.cost
		skipped := c.skipped
		if skipped == "" && c.failed > 0 && 2*c.failed >= c.evals {
			skipped = SkippedFailing
		}
		if c.failed == 0 && skipped == "" {
			continue
		}
		out = append(out, RuleProblem{Rule: rs.rule.ID, Evaluations: c.evals, Failed: c.failed, FirstError: c.firstErr,
			Seconds: c.spent.Seconds(), BudgetSeconds: c.budget.Seconds(), Skipped: skipped, SkippedAt: c.at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

// SkippedRules lists the rules that were switched off or count as not
// evaluated: findings they would have made may be missing.
func (s Stats) SkippedRules() []RuleProblem {
	var out []RuleProblem
	for _, p := range s.RuleProblems {
		if p.Skipped != "" {
			out = append(out, p)
		}
	}
	return out
}

// AddRuleProblems merges another engine run's rule problems into s (a scan
// runs one engine per case): counts add up, a rule skipped in either run
// is skipped.
func (s *Stats) AddRuleProblems(o []RuleProblem) {
	for _, p := range o {
		i := sort.Search(len(s.RuleProblems), func(i int) bool { return s.RuleProblems[i].Rule >= p.Rule })
		if i == len(s.RuleProblems) || s.RuleProblems[i].Rule != p.Rule {
			s.RuleProblems = append(s.RuleProblems, RuleProblem{})
			copy(s.RuleProblems[i+1:], s.RuleProblems[i:])
			s.RuleProblems[i] = p
			continue
		}
		q := &s.RuleProblems[i]
		q.Evaluations += p.Evaluations
		q.Failed += p.Failed
		q.Seconds += p.Seconds
		if q.FirstError == "" {
			q.FirstError = p.FirstError
		}
		if q.Skipped == "" {
			q.Skipped, q.SkippedAt, q.BudgetSeconds = p.Skipped, p.SkippedAt, p.BudgetSeconds
		}
	}
}

// Describe is one line about the problem, for a report's warnings.
func (p RuleProblem) Describe() string {
	switch p.Skipped {
	case SkippedSlow:
		return fmt.Sprintf("rule %s was switched off as too slow: %.1f s over %d evaluations (budget %gs in all at over %s each on average); findings it would have made after that may be missing",
			p.Rule, p.Seconds, p.Evaluations, p.BudgetSeconds, SlowEvaluation)
	case SkippedFailing:
		return fmt.Sprintf("rule %s could not be evaluated: %d of %d evaluations failed (first: %s); it was skipped and findings it would have made may be missing",
			p.Rule, p.Failed, p.Evaluations, p.FirstError)
	}
	return fmt.Sprintf("rule %s: %d of %d evaluations failed and counted as no match (first: %s)",
		p.Rule, p.Failed, p.Evaluations, p.FirstError)
}
