package engine

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// TestBase is the time of a test event that gives none; events without a
// time are one minute apart from it, in the order written.
var TestBase = time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)

// TestResult is the outcome of one inline rule test.
type TestResult struct {
	Rule     string   `json:"rule"`
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// RunTests runs every inline test of every rule in set, each rule alone
// (with every class) so another rule cannot make its test pass.
func RunTests(set *rules.Set) []TestResult {
	var out []TestResult
	for _, r := range set.Rules {
		for i, t := range r.Tests {
			name := t.Name
			if name == "" {
				name = fmt.Sprintf("#%d", i+1)
			}
			res := TestResult{Rule: r.ID, Name: name, File: r.File, Line: r.TestLine(i)}
			res.Failures = runTest(set.Only(r.ID), t)
			res.Passed = len(res.Failures) == 0
			out = append(out, res)
		}
	}
	return out
}

func runTest(set *rules.Set, t rules.Test) (fails []string) {
	defer func() {
		if r := recover(); r != nil {
			fails = append(fails, fmt.Sprintf("panic: %v", r))
		}
	}()
	opts := Options{Config: t.Config}
	if t.Now != "" {
		opts.Now, _ = time.Parse(time.RFC3339, t.Now)
	}
	eng := New(set, opts)
	for i, te := range t.Events {
		ev := TestEventToEvent(te, i)
		if err := eng.Feed(&ev); err != nil {
			return []string{err.Error()}
		}
	}
	fs := eng.Finish()
	if st := eng.Stats(); st.EvalErrors > 0 {
		fails = append(fails, fmt.Sprintf("%d expression errors, first: %s", st.EvalErrors, st.FirstError))
	}
	if !t.Fire {
		if len(fs) > 0 {
			fails = append(fails, fmt.Sprintf("expected no finding, got %d (first: group %s, count %d)", len(fs), GroupString(fs[0].Group), fs[0].Count))
		}
		return fails
	}
	if len(fs) == 0 {
		return append(fails, "expected a finding, got none")
	}
	f := pickFinding(fs, t.Group)
	if f == nil {
		var got []string
		for _, x := range fs {
			got = append(got, "{"+GroupString(x.Group)+"}")
		}
		return append(fails, fmt.Sprintf("no finding with group {%s}; got %s", GroupString(t.Group), strings.Join(got, " ")))
	}
	if t.Status != "" && f.Status != t.Status {
		fails = append(fails, fmt.Sprintf("status = %s, want %s (severity %s)", f.Status, t.Status, f.Severity))
	}
	if t.Count > 0 && f.Count != t.Count {
		fails = append(fails, fmt.Sprintf("count = %d, want %d", f.Count, t.Count))
	}
	for _, k := range sortedKeys(t.Facts) {
		if msg := compareFact(k, f.Facts, t.Facts[k]); msg != "" {
			fails = append(fails, msg)
		}
	}
	return fails
}

// TestEventToEvent builds the event a test table describes; i is its
// position (record id i+1, default time TestBase + i minutes).
func TestEventToEvent(te rules.TestEvent, i int) evtx.Event {
	t := TestBase.Add(time.Duration(i) * time.Minute)
	if te.Time != "" {
		if p, err := time.Parse(time.RFC3339, te.Time); err == nil {
			t = p.UTC()
		}
	}
	params := te.Params
	if params == nil {
		params = []string{}
	}
	data := te.Data
	if data == nil {
		data = map[string]string{}
	}
	return evtx.Event{Provider: te.Provider, EventID: te.ID, Qualifiers: te.Qualifiers, Level: te.Level,
		TimeCreated: t, RecordID: uint64(i + 1), Channel: te.Channel, Computer: te.Computer,
		Params: params, Data: data, File: "test"}
}

// pickFinding is the best-ranked finding whose group holds every expected
// label; with no expected group, the first finding.
func pickFinding(fs []Finding, want map[string]string) *Finding {
	for i := range fs {
		ok := true
		for k, v := range want {
			if !HasLabel(&fs[i], k, v) {
				ok = false
			}
		}
		if ok {
			return &fs[i]
		}
	}
	return nil
}

// compareFact compares numbers with a tolerance of 0.01 (facts such as
// days left are fractional) and everything else as text.
func compareFact(name string, got map[string]any, want any) string {
	g, ok := got[name]
	if !ok && want == "" {
		return "" // the engine drops facts without a value: "" means "none"
	}
	if !ok {
		return fmt.Sprintf("fact %s missing (have %s)", name, strings.Join(sortedKeys(got), ", "))
	}
	if wn, ok := number(want); ok {
		if gn, ok := number(g); ok && math.Abs(gn-wn) <= 0.01 {
			return ""
		}
		return fmt.Sprintf("fact %s = %v, want %v", name, g, want)
	}
	if fmt.Sprint(g) != fmt.Sprint(want) {
		if wt, ok := want.(time.Time); !ok || fmt.Sprint(g) != wt.UTC().Format(time.RFC3339) {
			return fmt.Sprintf("fact %s = %v, want %v", name, g, want)
		}
	}
	return ""
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// Summary counts passed and failed results.
func Summary(rs []TestResult) (passed, failed int) {
	for _, r := range rs {
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	return
}
