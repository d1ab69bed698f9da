package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

// userRule is a rule over TermService 1028 with the given condition.
func userRule(id, when string) string {
	return fmt.Sprintf(`
[[rule]]
id = %q
title = "A crafted user rule"
severity = "high"
confidence = 1
events = [{ provider = "TermService", id = 1028 }]
when = '''%s'''
group_by = { host = "Computer" }
`, id, when)
}

// renewalLog writes n TermService 1028 events on RDSH01, %%1 = param(i).
func renewalLog(t *testing.T, name string, n int, param func(i int) string) {
	t.Helper()
	var evs []fev
	for i := 0; i < n; i++ {
		evs = append(evs, fe("TermService", 1028, i/24, i%24, "RDSH01", param(i)))
	}
	writeEVTX(t, name, evs)
}

type ruleProblemsReport struct {
	Incomplete bool     `json:"incomplete"`
	Warnings   []string `json:"warnings"`
	Stats      struct {
		RuleProblems []engine.RuleProblem `json:"rule_problems"`
		EvalErrors   int                  `json:"eval_errors"`
	} `json:"stats"`
}

// Issue #19: a condition over expr's budget on every event (or one that
// fails to convert) was skipped silently, only stats.eval_errors said so.
// Now the scan is incomplete (exit 2), stderr and every format name the
// rule and its first error, and --keep-going accepts the result.
func TestFailingUserRuleMakesTheScanIncomplete(t *testing.T) {
	t.Chdir(t.TempDir())
	renewalLog(t, "renewals.evtx", 60, func(i int) string { return fmt.Sprintf("WS-%02d", i) })
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/crafted.toml", []byte(userRule("over-budget", `len(filter(1..1000000, # > 0)) > 0`)+
		userRule("bad-conversion", `int(Param(1)) > 0`)), 0o644)
	code, out, stderr := scanCLI(t, "", "scan", "--rules", "rules", "--format", "json", "renewals.evtx")
	if code != 2 || !strings.Contains(stderr, "scan incomplete") ||
		!strings.Contains(stderr, "rule over-budget could not be evaluated: 20 of 20 evaluations failed (first: memory budget exceeded (1:13));") ||
		!strings.Contains(stderr, "(first: invalid operation: int(WS-00) (1:1));") || !strings.Contains(stderr, "rule bad-conversion could not be evaluated") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep ruleProblemsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	ps := rep.Stats.RuleProblems
	if !rep.Incomplete || len(ps) != 2 || ps[0].Rule != "bad-conversion" || ps[1].Rule != "over-budget" ||
		ps[0].Skipped != engine.SkippedFailing || ps[1].Failed != engine.MinFailuresToSkip || len(rep.Warnings) != 2 {
		t.Fatalf("JSON: %+v", rep)
	}
	for _, f := range []string{"markdown", "html", "sarif", "junit"} {
		_, out, _ := scanCLI(t, "", "scan", "--rules", "rules", "--format", f, "renewals.evtx")
		if !strings.Contains(out, "over-budget could not be evaluated") {
			t.Errorf("%s: no warning naming the rule", f)
		}
	}
	if code, _, _ := scanCLI(t, "", "scan", "--rules", "rules", "--keep-going", "--fail-on", "none", "renewals.evtx"); code != 0 {
		t.Errorf("--keep-going: exit %d", code)
	}
}

// Trap: a rule that fails on a few events of many is a warning, not an
// incomplete scan: it still judged the rest (and fired on them).
func TestOccasionallyFailingRuleIsAWarning(t *testing.T) {
	t.Chdir(t.TempDir())
	renewalLog(t, "renewals.evtx", 60, func(i int) string {
		if i%20 == 0 {
			return "not-a-number"
		}
		return fmt.Sprint(i)
	})
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/crafted.toml", []byte(userRule("numeric-client", `int(Param(1)) > 0`)), 0o644)
	code, out, stderr := scanCLI(t, "", "scan", "--rules", "rules", "--format", "json", "--fail-on", "none", "renewals.evtx")
	if code != 0 || !strings.Contains(stderr, "warning: rule numeric-client: 3 of 60 evaluations failed and counted as no match") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep ruleProblemsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Incomplete || len(rep.Stats.RuleProblems) != 1 || rep.Stats.RuleProblems[0].Skipped != "" || !strings.Contains(out, `"numeric-client"`) {
		t.Errorf("JSON: %+v", rep)
	}
}

// A regex over big event data costs milliseconds per event: past the
// per-rule budget (lowered here so the test is quick) the rule is switched
// off, the scan is incomplete and says which rule was slow; the built-in
// rules on the same log keep running.
func TestSlowUserRuleIsSwitchedOff(t *testing.T) {
	old := engine.DefaultRuleBudget
	engine.DefaultRuleBudget = 30 * time.Millisecond
	t.Cleanup(func() { engine.DefaultRuleBudget = old })
	t.Chdir(t.TempDir())
	big := strings.Repeat("abc", 10000)
	renewalLog(t, "renewals.evtx", 300, func(int) string { return big })
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/slow.toml", []byte(userRule("regex-on-big-data", `Param(1) matches "(a|b|c)*d$"`)), 0o644)
	code, out, stderr := scanCLI(t, "", "scan", "--rules", "rules", "--format", "json", "renewals.evtx")
	if code != 2 || !strings.Contains(stderr, "rule regex-on-big-data was switched off as too slow") ||
		!strings.Contains(stderr, "regex-on-big-data (slow)") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep ruleProblemsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	ps := rep.Stats.RuleProblems
	if len(ps) != 1 || ps[0].Skipped != engine.SkippedSlow || ps[0].Evaluations >= 300 || ps[0].BudgetSeconds != 0.03 {
		t.Errorf("rule problems: %+v", ps)
	}
}

// The first error can quote event data: a crafted value cannot put escape
// sequences or line breaks into the warning (the message is cut at its
// first line break, as expr's own source-and-caret lines are).
func TestRuleErrorCannotForgeTheWarning(t *testing.T) {
	t.Chdir(t.TempDir())
	renewalLog(t, "renewals.evtx", 3, func(int) string { return "x\x1b[2J\nFAKE LINE\u202e" })
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/crafted.toml", []byte(userRule("numeric-client", `int(Param(1)) > 0`)), 0o644)
	code, _, stderr := scanCLI(t, "", "scan", "--rules", "rules", "renewals.evtx")
	if code != 2 || strings.ContainsAny(stderr, "\x1b\u202e") || strings.Contains(stderr, "\nFAKE LINE") ||
		!strings.Contains(stderr, `(first: invalid operation: int(x\x1b[2J);`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
