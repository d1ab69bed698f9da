package engine

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/rules"
)

// budgetRules: a fast rule (the trap: it must keep running and fire) and
// a rule given by each test.
func budgetRules(t *testing.T, when string) *rules.Set {
	t.Helper()
	return ruleSet(t, `
[[rule]]
id = "fast"
title = "Renewals failing"
severity = "high"
confidence = 1
classes = ["renew_failed"]
group_by = { host = "Computer" }
[rule.count]
threshold = 3
window = "1h"

[[rule]]
id = "crafted"
title = "A user rule"
severity = "high"
confidence = 1
classes = ["renew_failed"]
when = '''`+when+`'''
group_by = { host = "Computer" }
`)
}

// renewals writes n TermService 1028 records a minute apart, %1 = param(i).
func renewals(t *testing.T, n int, param func(i int) string) string {
	t.Helper()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]writer.Record, n)
	for i := range recs {
		recs[i] = writer.Record{Provider: "TermService", EventID: 1028, Level: 3, Channel: "System",
			Computer: "RDSH01", TimeCreated: start.Add(time.Duration(i) * time.Minute),
			Payload: writer.Payload{Shape: writer.Classic, Values: []writer.Value{writer.String(param(i))}}}
	}
	return writeEVTX(t, filepath.Join(t.TempDir(), "renewals.evtx"), numbered(recs))
}

func scanAll(t *testing.T, set *rules.Set, opts Options, path string) ([]Finding, Stats) {
	t.Helper()
	eng := New(set, opts)
	if _, err := source.Walk([]string{path}, source.Options{Filter: set.Filter()}, eng.Feed); err != nil {
		t.Fatal(err)
	}
	fs := eng.Finish()
	return fs, eng.Stats()
}

func problem(st Stats, rule string) *RuleProblem {
	for i := range st.RuleProblems {
		if st.RuleProblems[i].Rule == rule {
			return &st.RuleProblems[i]
		}
	}
	return nil
}

// A regex over big event data costs milliseconds per event; past its
// budget the rule is switched off, named, and the fast rule beside it
// still evaluates every event.
func TestSlowRuleIsSwitchedOff(t *testing.T) {
	big := strings.Repeat("abc", 10000) // 30,000 characters: 60 KB in UTF-16, within one substitution
	path := renewals(t, 400, func(int) string { return big })
	set := budgetRules(t, `Param(1) matches "(a|b|c)*d$"`)
	fs, st := scanAll(t, set, Options{RuleBudget: 50 * time.Millisecond}, path)
	p := problem(st, "crafted")
	if p == nil || p.Skipped != SkippedSlow || p.Evaluations >= 400 || p.SkippedAt.IsZero() || p.BudgetSeconds != 0.05 {
		t.Fatalf("crafted rule: %+v (all: %+v)", p, st.RuleProblems)
	}
	if q := problem(st, "fast"); q != nil {
		t.Errorf("fast rule reported: %+v", q)
	}
	if len(st.SkippedRules()) != 1 || len(byID(fs, "fast")) != 1 || byID(fs, "fast")[0].Count != 400 {
		t.Errorf("skipped %+v, fast findings %+v", st.SkippedRules(), byID(fs, "fast"))
	}
	if !strings.Contains(p.Describe(), "crafted was switched off as too slow") {
		t.Errorf("describe: %s", p.Describe())
	}
}

// Trap: the same rule on small data is fast and keeps running; so does
// every rule with no budget.
func TestFastRuleKeepsRunning(t *testing.T) {
	path := renewals(t, 400, func(int) string { return "abcd" })
	set := budgetRules(t, `Param(1) matches "(a|b|c)*d$"`)
	fs, st := scanAll(t, set, Options{RuleBudget: 50 * time.Millisecond}, path)
	if len(st.RuleProblems) != 0 || len(byID(fs, "crafted")) != 1 || byID(fs, "crafted")[0].Count != 400 {
		t.Errorf("problems %+v, findings %+v", st.RuleProblems, keysOf(fs))
	}
	big := strings.Repeat("abc", 10000)
	_, st = scanAll(t, set, Options{RuleBudget: -1}, renewals(t, 30, func(int) string { return big }))
	if len(st.RuleProblems) != 0 {
		t.Errorf("no budget: %+v", st.RuleProblems)
	}
}

// A condition that errors on every event (over expr's memory budget, or
// a conversion that fails) is no longer silent: counted, named with its
// first error, switched off after MinFailuresToSkip failures and counted
// as skipped.
func TestFailingRuleIsSkipped(t *testing.T) {
	path := renewals(t, 100, func(i int) string { return fmt.Sprintf("WS%d", i) })
	for _, when := range []string{`len(filter(1..1000000, # > 0)) > 0`, `int(Param(1)) > 0`} {
		_, st := scanAll(t, budgetRules(t, when), Options{}, path)
		p := problem(st, "crafted")
		if p == nil || p.Skipped != SkippedFailing || p.Failed != MinFailuresToSkip || p.Evaluations != MinFailuresToSkip || p.FirstError == "" {
			t.Errorf("%s: %+v", when, p)
			continue
		}
		if !strings.Contains(p.Describe(), "could not be evaluated: 20 of 20 evaluations failed") {
			t.Errorf("describe: %s", p.Describe())
		}
		if len(st.SkippedRules()) != 1 || problem(st, "fast") != nil {
			t.Errorf("%s: %+v", when, st.RuleProblems)
		}
	}
}

// A rule that fails on every one of a few events is skipped at the end
// (it never judged anything); one that fails on a few of many events is
// reported but kept, and its other events still match.
func TestOccasionalErrorsAreReportedNotSkipped(t *testing.T) {
	set := budgetRules(t, `int(Param(1)) >= 0`)
	_, st := scanAll(t, set, Options{}, renewals(t, 5, func(i int) string { return "x" }))
	if p := problem(st, "crafted"); p == nil || p.Skipped != SkippedFailing || p.Failed != 5 {
		t.Errorf("all of 5 failing: %+v", p)
	}
	fs, st := scanAll(t, set, Options{}, renewals(t, 50, func(i int) string {
		if i%10 == 0 {
			return "x"
		}
		return fmt.Sprint(i)
	}))
	p := problem(st, "crafted")
	if p == nil || p.Skipped != "" || p.Failed != 5 || p.Evaluations != 50 || !strings.Contains(p.FirstError, "x") {
		t.Fatalf("5 of 50 failing: %+v", p)
	}
	if len(st.SkippedRules()) != 0 || len(byID(fs, "crafted")) != 1 || byID(fs, "crafted")[0].Count != 45 {
		t.Errorf("skipped %+v, findings %+v", st.SkippedRules(), byID(fs, "crafted"))
	}
	if !strings.Contains(p.Describe(), "5 of 50 evaluations failed and counted as no match") {
		t.Errorf("describe: %s", p.Describe())
	}
}

// Runs merged by a scan (--separate) add up; a rule skipped in one stays
// skipped.
func TestAddRuleProblems(t *testing.T) {
	var s Stats
	s.AddRuleProblems([]RuleProblem{{Rule: "b", Evaluations: 10, Failed: 1, FirstError: "e1"}})
	s.AddRuleProblems([]RuleProblem{{Rule: "a", Evaluations: 3, Failed: 3, Skipped: SkippedFailing}, {Rule: "b", Evaluations: 5, Failed: 5, FirstError: "e2", Skipped: SkippedFailing}})
	if len(s.RuleProblems) != 2 || s.RuleProblems[0].Rule != "a" {
		t.Fatalf("%+v", s.RuleProblems)
	}
	b := s.RuleProblems[1]
	if b.Evaluations != 15 || b.Failed != 6 || b.FirstError != "e1" || b.Skipped != SkippedFailing {
		t.Errorf("%+v", b)
	}
}
