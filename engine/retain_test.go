package engine

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// records writes TermService 1028 records with %1 = param(i) at at(i).
func records(t *testing.T, n int, at func(i int) time.Duration, param func(i int) string) string {
	t.Helper()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	recs := make([]writer.Record, n)
	for i := range recs {
		recs[i] = writer.Record{Provider: "TermService", EventID: 1028, Level: 3, Channel: "System",
			Computer: "RDSH01", TimeCreated: start.Add(at(i)),
			Payload: writer.Payload{Shape: writer.Classic, Values: []writer.Value{writer.String(param(i))}}}
	}
	return writeEVTX(t, filepath.Join(t.TempDir(), "big.evtx"), numbered(recs))
}

// A crafted log of 30,000-character client names: conditions see each
// name whole, but what the engine keeps (evidence, group labels, facts
// computed at the end) is clipped, so a flood of them cannot pin the log.
func TestBigStringsAreClippedWhenKept(t *testing.T) {
	path := records(t, 40, func(i int) time.Duration { return time.Duration(i) * time.Minute },
		func(i int) string { return fmt.Sprintf("%03d", i%4) + strings.Repeat("C", 29997) })
	set := ruleSet(t, `
[[rule]]
id = "long-names"
title = "Long client names"
severity = "low"
confidence = 1
classes = ["renew_failed"]
when = "len(Param(1)) == 30000"
group_by = { host = "Computer", client = "Param(1)" }
[rule.facts]
name_length = "len(Param(1))"
[[diagnosis]]
id = "long-names"
incident_by = ["client"]
`)
	fs, st := scanAll(t, set, Options{}, path)
	if len(fs) != 4 || len(st.RuleProblems) != 0 {
		t.Fatalf("%d findings, problems %+v", len(fs), st.RuleProblems)
	}
	for _, f := range fs {
		if f.Count != 10 || len(f.Group["client"]) > maxValueLen+len("…") || f.Facts["name_length"] != maxValueLen+1 {
			t.Errorf("count %d, client label %d bytes, facts %v", f.Count, len(f.Group["client"]), f.Facts)
		}
		for _, e := range f.Evidence {
			if len(e.Values["param1"]) > maxValueLen+len("…") {
				t.Errorf("evidence keeps %d bytes", len(e.Values["param1"]))
			}
		}
	}
}

// Trap: a small event is kept as it is, not copied.
func TestSmallEventsAreKeptAsTheyAre(t *testing.T) {
	ev := ev("TermService", 1028, 0, "RDSH01", "WS-17")
	if kept(ev) != ev {
		t.Error("a small event was copied")
	}
	big := *ev
	big.Params = []string{strings.Repeat("x", 10000)}
	if k := kept(&big); k == &big || len(k.Params[0]) != maxValueLen+len("…") || len(big.Params[0]) != 10000 {
		t.Errorf("big event kept as %d bytes (original %d)", len(k.Params[0]), len(big.Params[0]))
	}
}

// The reorder buffer is bounded by bytes: 700 events of 30,000 characters
// within six minutes hold more than MaxBufferBytes, so the oldest are
// evaluated before the reorder horizon has passed; an event older than
// them arriving after them is then late. The same log of small events is
// reordered (nothing late).
func TestReorderBufferBoundedByBytes(t *testing.T) {
	at := func(i int) time.Duration {
		if i == 700 {
			return 4 * time.Minute // older than the rest, within the horizon
		}
		return 5*time.Minute + time.Duration(i)*time.Second/2
	}
	set := budgetRules(t, `true`)
	for _, c := range []struct {
		size int
		late int
	}{{30000, 1}, {10, 0}} {
		path := records(t, 701, at, func(int) string { return strings.Repeat("a", c.size) })
		_, st := scanAll(t, set, Options{}, path)
		if st.Late != c.late || st.Events != 701 {
			t.Errorf("%d-character values: %d late of %d, want %d", c.size, st.Late, st.Events, c.late)
		}
	}
}

// A distinct rule remembers each value for its window: a 30,000-character
// value is held as its clipped form and a hash of the whole (bounded), and
// values sharing their first 600 bytes still count apart. Four such clients
// fire a threshold of four; three (the trap) do not.
func TestDistinctValuesBoundedButApart(t *testing.T) {
	prefix := strings.Repeat("P", 600)
	name := func(i int) string { return prefix + fmt.Sprintf("%03d", i) + strings.Repeat("C", 29397) }
	if k := distinctKey(name(1)); len(k) > maxValueLen+40 || k == distinctKey(name(2)) {
		t.Fatalf("key of %d bytes, or two values one key", len(k))
	}
	if distinctKey("WS-17") != "WS-17" {
		t.Error("a short value must be kept as it is")
	}
	set := ruleSet(t, `
[[rule]]
id = "many-long-clients"
title = "Many long client names"
severity = "low"
confidence = 1
classes = ["renew_failed"]
group_by = { host = "Computer" }
[rule.distinct]
value = "Param(1)"
threshold = 4
window = "1d"
`)
	for _, n := range []int{4, 3} {
		path := records(t, 2*n, func(i int) time.Duration { return time.Duration(i) * time.Minute },
			func(i int) string { return name(i % n) })
		fs, _ := scanAll(t, set, Options{}, path)
		if fired := len(fs) == 1; fired != (n == 4) {
			t.Errorf("%d distinct long names: %d findings", n, len(fs))
		}
	}
}
