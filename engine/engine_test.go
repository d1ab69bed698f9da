package engine

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// ruleSet writes body (rules over two classes) to a file and loads it.
func ruleSet(t testing.TB, body string) *rules.Set {
	t.Helper()
	classes := `
[[class]]
name = "renew_failed"
events = [{ provider = "TermService", id = 1028 }, { provider = "` + rcm + `", id = 1028 }, { provider = "` + rcm + `", id = 50180 }]
[[class]]
name = "ls_stopped"
events = [{ provider = "Microsoft-Windows-TerminalServices-Licensing", id = 3 }]
[[class]]
name = "ls_started"
events = [{ provider = "Microsoft-Windows-TerminalServices-Licensing", id = 0 }]
`
	p := filepath.Join(t.TempDir(), "r.toml")
	if err := os.WriteFile(p, []byte(classes+body), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func ev(provider string, id uint16, at time.Duration, computer string, params ...string) *evtx.Event {
	return &evtx.Event{Provider: provider, EventID: id, TimeCreated: t0.Add(at), Computer: computer,
		Params: params, File: "t.evtx", RecordID: uint64(at / time.Second)}
}

func run(t testing.TB, set *rules.Set, opts Options, evs ...*evtx.Event) []Finding {
	t.Helper()
	e := New(set, opts)
	for _, x := range evs {
		if err := e.Feed(x); err != nil {
			t.Fatal(err)
		}
	}
	fs := e.Finish()
	if st := e.Stats(); st.EvalErrors > 0 {
		t.Fatalf("eval errors: %+v", st)
	}
	return fs
}

const countRule = `
[[rule]]
id = "renewals"
title = "Renewals failing"
severity = "high"
confidence = 0.8
classes = ["renew_failed"]
group_by = { client = "Param(1)" }
[rule.count]
threshold = 3
window = "1h"
# These tests check correlation per client: one incident per client, not
# per host (the default would fold clients into a list fact).
[[diagnosis]]
id = "renewals"
incident_by = ["client"]
`

func TestCountWindowBoundary(t *testing.T) {
	set := ruleSet(t, countRule)
	// Three failures exactly one hour apart end to end: the window is inclusive.
	fs := run(t, set, Options{},
		ev(rcm, 1028, 0, "H", "WS1"), ev(rcm, 1028, 30*time.Minute, "H", "WS1"), ev(rcm, 1028, time.Hour, "H", "WS1"))
	if len(fs) != 1 || fs[0].Count != 3 || fs[0].Group["client"] != "WS1" {
		t.Fatalf("inclusive boundary: %+v", fs)
	}
	// One second more and it must not fire.
	fs = run(t, set, Options{},
		ev(rcm, 1028, 0, "H", "WS1"), ev(rcm, 1028, 30*time.Minute, "H", "WS1"), ev(rcm, 1028, time.Hour+time.Second, "H", "WS1"))
	if len(fs) != 0 {
		t.Fatalf("beyond window fired: %+v", fs)
	}
}

func TestCountGroupsAreSeparate(t *testing.T) {
	set := ruleSet(t, countRule)
	fs := run(t, set, Options{},
		ev(rcm, 1028, 0, "H", "WS1"), ev(rcm, 1028, time.Minute, "H", "WS2"), ev(rcm, 1028, 2*time.Minute, "H", "WS1"),
		ev(rcm, 1028, 3*time.Minute, "H", "WS2"), ev(rcm, 1028, 4*time.Minute, "H", "WS1"))
	if len(fs) != 1 || fs[0].Group["client"] != "WS1" || fs[0].Host != "H" {
		t.Fatalf("got %+v", fs)
	}
	// Later matches keep adding while the window holds >= threshold.
	fs = run(t, set, Options{},
		ev(rcm, 1028, 0, "H", "A"), ev(rcm, 1028, time.Minute, "H", "A"), ev(rcm, 1028, 2*time.Minute, "H", "A"),
		ev(rcm, 1028, 3*time.Minute, "H", "A"), ev(rcm, 1028, 5*time.Hour, "H", "A"))
	if len(fs) != 1 || fs[0].Count != 4 {
		t.Fatalf("want 4 (the isolated 5h event excluded), got %+v", fs)
	}
}

func TestOutOfOrderInputWithinHorizon(t *testing.T) {
	set := ruleSet(t, countRule)
	evs := []*evtx.Event{
		ev(rcm, 1028, 0, "H", "WS1"), ev(rcm, 1028, 20*time.Minute, "H", "WS1"), ev(rcm, 1028, 40*time.Minute, "H", "WS1"),
		ev(rcm, 1028, 3*time.Hour, "H", "WS1"),
	}
	want := run(t, set, Options{}, evs...)
	// Same events, interleaved as two files would deliver them: 5 minutes out of order.
	shuffled := []*evtx.Event{evs[1], evs[0], evs[3], evs[2]}
	e := New(set, Options{Reorder: 4 * time.Hour})
	for _, x := range shuffled {
		e.Feed(x)
	}
	got := e.Finish()
	if !reflect.DeepEqual(js(t, want), js(t, got)) {
		t.Fatalf("reordered input differs:\n%s\n%s", js(t, want), js(t, got))
	}
	if e.Stats().Late != 0 {
		t.Fatalf("late = %d", e.Stats().Late)
	}
	// Beyond the horizon an event is late: counted, still evaluated.
	e = New(set, Options{Reorder: time.Minute})
	for _, x := range shuffled {
		e.Feed(x)
	}
	e.Finish()
	if e.Stats().Late == 0 {
		t.Fatal("late event not counted")
	}
}

func js(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const seqRule = `
[[rule]]
id = "ls-stop-then-renewals"
title = "License server stopped, then renewals failed"
severity = "high"
confidence = 0.9
[rule.sequence]
window = "2h"
[[rule.sequence.steps]]
classes = ["ls_stopped"]
[[rule.sequence.steps]]
classes = ["renew_failed"]
[[rule.sequence.steps]]
classes = ["renew_failed"]
when = "Param(1) != ''"
`

func TestSequence(t *testing.T) {
	set := ruleSet(t, seqRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	// Renewal failures before the stop do not count; order matters.
	fs := run(t, set, Options{},
		ev(rcm, 1028, 0, "H", "WS1"), ev(ls, 3, time.Minute, "LS"), ev(rcm, 1028, 2*time.Minute, "H", "WS1"))
	if len(fs) != 0 {
		t.Fatalf("incomplete sequence fired: %+v", fs)
	}
	fs = run(t, set, Options{},
		ev(ls, 3, 0, "LS"), ev(rcm, 1028, time.Hour, "H", "WS1"), ev(rcm, 1028, 2*time.Hour, "H", "WS2"))
	if len(fs) != 1 || fs[0].Count != 3 || fs[0].Host != "H" {
		t.Fatalf("window-edge sequence: %+v", fs)
	}
	fs = run(t, set, Options{},
		ev(ls, 3, 0, "LS"), ev(rcm, 1028, time.Hour, "H", "WS1"), ev(rcm, 1028, 2*time.Hour+time.Second, "H", "WS2"))
	if len(fs) != 0 {
		t.Fatalf("sequence beyond window fired: %+v", fs)
	}
	// A later stop restarts the chain, so the later, tighter sequence is found.
	fs = run(t, set, Options{},
		ev(ls, 3, 0, "LS"), ev(ls, 3, 3*time.Hour, "LS"), ev(rcm, 1028, 4*time.Hour, "H", "A"), ev(rcm, 1028, 4*time.Hour+time.Minute, "H", "B"))
	if len(fs) != 1 || !fs[0].FirstSeen.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("restart: %+v", fs)
	}
}

const absenceRule = `
[[rule]]
id = "ls-not-restarted"
title = "License server stopped and not started again"
severity = "medium"
confidence = 0.7
classes = ["ls_stopped"]
group_by = { server = "Computer" }
[rule.absence]
within = "30m"
[rule.absence.expect]
classes = ["ls_started"]
[[diagnosis]]
id = "ls-not-restarted"
incident_by = ["server"]
`

func TestAbsence(t *testing.T) {
	set := ruleSet(t, absenceRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	other := ev("Service Control Manager", 7036, 0, "X")
	at := func(d time.Duration) *evtx.Event { x := *other; x.TimeCreated = t0.Add(d); return &x }
	cases := []struct {
		name string
		evs  []*evtx.Event
		want []string // servers that fire
	}{
		{"restarted in time", []*evtx.Event{ev(ls, 3, 0, "LS1"), ev(ls, 0, 30*time.Minute, "LS1"), at(5 * time.Hour)}, nil},
		{"restarted late", []*evtx.Event{ev(ls, 3, 0, "LS1"), ev(ls, 0, 31*time.Minute, "LS1"), at(5 * time.Hour)}, []string{"LS1"}},
		{"other server restarted", []*evtx.Event{ev(ls, 3, 0, "LS1"), ev(ls, 0, time.Minute, "LS2"), at(5 * time.Hour)}, []string{"LS1"}},
		{"end of stream too soon", []*evtx.Event{ev(ls, 3, 0, "LS1"), at(29 * time.Minute)}, nil},
		{"end of stream exactly at limit", []*evtx.Event{ev(ls, 3, 0, "LS1"), at(30 * time.Minute)}, []string{"LS1"}},
		{"stop is last event", []*evtx.Event{at(0), ev(ls, 3, time.Hour, "LS1")}, nil},
		{"two servers", []*evtx.Event{ev(ls, 3, 0, "LS1"), ev(ls, 3, time.Minute, "LS2"), ev(ls, 0, 2*time.Minute, "LS1"), at(time.Hour)}, []string{"LS2"}},
	}
	for _, c := range cases {
		fs := run(t, set, Options{}, c.evs...)
		var got []string
		for _, f := range fs {
			got = append(got, f.Group["server"])
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: fired for %v, want %v", c.name, got, c.want)
		}
	}
}

const distinctRule = `
[[rule]]
id = "many-clients-invalid"
title = "Many clients present invalid licenses"
severity = "high"
confidence = 0.8
events = [{ provider = "TermService", id = 1003 }]
group_by = { host = "Computer" }
facts = { clients = "Distinct", n = "len(Distinct)", last = "Last.Param(1)" }
[rule.distinct]
value = "Lower(Param(1))"
threshold = 3
window = "1d"
`

func TestDistinct(t *testing.T) {
	set := ruleSet(t, distinctRule)
	fs := run(t, set, Options{},
		ev("TermService", 1003, 0, "H", "WS1"), ev("TermService", 1003, time.Hour, "H", "ws1"),
		ev("TermService", 1003, 2*time.Hour, "H", "WS2"), ev("TermService", 1003, 24*time.Hour, "H", "WS3"))
	if len(fs) != 1 || fs[0].Facts["n"] != 3 || fs[0].Facts["last"] != "WS3" {
		t.Fatalf("got %+v", fs)
	}
	if fs[0].Count != 3 { // ws1's latest entry, WS2, WS3; the first WS1 fell out of the window
		t.Errorf("count = %d", fs[0].Count)
	}
	fs = run(t, set, Options{},
		ev("TermService", 1003, 0, "H", "WS1"), ev("TermService", 1003, time.Hour, "H", "WS2"),
		ev("TermService", 1003, 25*time.Hour, "H", "WS3"))
	if len(fs) != 0 {
		t.Fatalf("distinct across more than the window fired: %+v", fs)
	}
}

func TestManyGroupsStayBounded(t *testing.T) {
	set := ruleSet(t, countRule)
	e := New(set, Options{})
	// 200k clients fail once each, one per second: none reaches 3 in an hour.
	for i := 0; i < 200000; i++ {
		e.Feed(ev(rcm, 1028, time.Duration(i)*time.Second, "H", fmt.Sprintf("WS%d", i)))
	}
	if n := len(e.rules[0].groups); n > 10000 {
		t.Fatalf("%d groups held; eviction is not working", n)
	}
	if fs := e.Finish(); len(fs) != 0 {
		t.Fatalf("fired: %d", len(fs))
	}
}

func TestEvidenceCapAndDeterminism(t *testing.T) {
	set := ruleSet(t, `
[[rule]]
id = "every"
title = "Every renewal failure"
severity = "low"
confidence = 1
classes = ["renew_failed"]
group_by = { host = "Computer" }
`)
	var evs []*evtx.Event
	for i := 0; i < 100; i++ {
		evs = append(evs, ev(rcm, 1028, time.Duration(i)*time.Hour, fmt.Sprintf("H%d", i%3), "WS"))
	}
	a := run(t, set, Options{}, evs...)
	rand.New(rand.NewSource(1)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	b := run(t, set, Options{Reorder: 200 * time.Hour}, evs...)
	if js(t, a) != js(t, b) {
		t.Fatal("output depends on input order")
	}
	if len(a) != 3 || len(a[0].Evidence) != EvidenceHead+EvidenceTail || a[0].Count != 34 {
		t.Fatalf("findings %d, evidence %d, count %d", len(a), len(a[0].Evidence), a[0].Count)
	}
	if a[0].Evidence[0].Values["param1"] != "WS" || a[0].Evidence[0].Values["host"] == "" {
		t.Errorf("evidence values %v", a[0].Evidence[0].Values)
	}
	for i, f := range a {
		if f.Rank != i+1 {
			t.Errorf("rank %d at %d", f.Rank, i)
		}
	}
	days := 0
	for _, b := range a[0].Timeline {
		days += b.Count
		if b.Day.Hour() != 0 || b.Day.Location() != time.UTC {
			t.Errorf("bucket %v not a UTC day", b.Day)
		}
	}
	if days != a[0].Count {
		t.Errorf("timeline sums to %d, count %d", days, a[0].Count)
	}
}

func TestScoreOrdersSeverityRecencyAndStrength(t *testing.T) {
	now := t0
	mk := func(sev string, n int, age time.Duration) Finding {
		return Finding{Severity: sev, Confidence: 0.8, Count: n, LastSeen: now.Add(-age)}
	}
	hi, med := mk("high", 1, 0), mk("medium", 1, 0)
	if Score(&hi, now) <= Score(&med, now) {
		t.Error("high not above medium")
	}
	old, fresh := mk("high", 1, 30*24*time.Hour), mk("high", 1, 0)
	if Score(&old, now) >= Score(&fresh, now) {
		t.Error("recency ignored")
	}
	many := mk("high", 100, 0)
	if Score(&many, now) <= Score(&fresh, now) {
		t.Error("strength ignored")
	}
	info := mk("info", 100000, 0)
	if Score(&info, now) >= Score(&old, now) {
		t.Error("info outranks high")
	}
}

func TestFactsCountdown(t *testing.T) {
	set := ruleSet(t, `
[[class]]
name = "grace_warning"
events = [{ provider = "TermService", id = 1009 }, { provider = "`+rcm+`", id = 1129 }, { provider = "`+rcm+`", id = 50281 }]
[[rule]]
id = "grace-period-expiring"
title = "Grace period expiring"
severity = "high"
confidence = 0.9
classes = ["grace_warning"]
when = "!ParseDate(Param(1)).IsZero()"
group_by = { host = "Computer" }
[rule.facts]
expires = "ParseDate(Param(1))"
days_left = "DaysUntil(ParseDate(Param(1)))"
warnings = "Count"
span_days = "DaysBetween(FirstSeen, LastSeen)"
`)
	evs := []*evtx.Event{
		ev("TermService", 1009, 0, "RDSH1", "3/15/2024"),
		ev("TermService", 1009, 24*time.Hour, "RDSH1", "3/15/2024"),
		ev(rcm, 50281, 48*time.Hour, "RDSH1", "3/15/2024"),
	}
	fs := run(t, set, Options{}, evs...)
	if len(fs) != 1 {
		t.Fatalf("%+v", fs)
	}
	f := fs[0].Facts
	// Now defaults to the newest event: 2024-03-03 12:00, so 11.5 days left.
	if f["days_left"] != 11.5 || f["expires"] != "2024-03-15T00:00:00Z" || f["warnings"] != 3 || f["span_days"] != 2.0 {
		t.Fatalf("facts %v", f)
	}
	fs = run(t, set, Options{Now: time.Date(2024, 3, 14, 0, 0, 0, 0, time.UTC)}, evs...)
	if fs[0].Facts["days_left"] != 1.0 {
		t.Fatalf("--now ignored: %v", fs[0].Facts)
	}
}

// A bundle with a second host whose log runs a year later must not turn the
// first host's countdown into hundreds of days overdue.
func TestFactsCountFromEachHostsNewestEvent(t *testing.T) {
	set := ruleSet(t, `
[[class]]
name = "grace_warning"
events = [{ provider = "TermService", id = 1009 }]
[[rule]]
id = "grace-period-expiring"
title = "Grace period expiring"
severity = "high"
confidence = 0.9
classes = ["grace_warning"]
group_by = { host = "Computer" }
[rule.facts]
days_left = "DaysUntil(ParseDate(Param(1)))"
`)
	year := 365 * 24 * time.Hour
	fs := run(t, set, Options{},
		ev("TermService", 1009, 0, "OLD", "3/15/2024"),
		ev("TermService", 1009, 24*time.Hour, "OLD", "3/15/2024"),
		ev("TermService", 1009, year, "NEW", "3/20/2025"),
	)
	got := map[string]any{}
	for _, f := range fs {
		got[f.Host] = f.Facts["days_left"]
	}
	// OLD's newest event is 2024-03-02 12:00; NEW's is 2025-03-01 12:00.
	if got["OLD"] != 12.5 || got["NEW"] != 18.5 {
		t.Fatalf("days_left per host %v, want OLD 12.5 and NEW 18.5", got)
	}
}

func TestSinceUntil(t *testing.T) {
	set := ruleSet(t, countRule)
	evs := []*evtx.Event{ev(rcm, 1028, 0, "H", "A"), ev(rcm, 1028, time.Minute, "H", "A"), ev(rcm, 1028, 2*time.Minute, "H", "A")}
	if fs := run(t, set, Options{Since: t0.Add(time.Second)}, evs...); len(fs) != 0 {
		t.Fatalf("since ignored: %+v", fs)
	}
	if fs := run(t, set, Options{Until: t0.Add(2 * time.Minute)}, evs...); len(fs) != 1 {
		t.Fatalf("until is inclusive: %+v", fs)
	}
}

// Events later than the reorder horizon are evaluated at their own time and
// must not make a wide span look like a burst.
func TestLateEventsDoNotInventBursts(t *testing.T) {
	set := ruleSet(t, countRule)
	e := New(set, Options{Reorder: time.Minute})
	e.Feed(ev(rcm, 1028, 10*time.Hour, "H", "WS1"))
	e.Feed(ev(rcm, 1028, 20*time.Hour, "H", "WS1"))
	e.Feed(ev(rcm, 1028, 0, "H", "WS1")) // 20 hours late
	if fs := e.Finish(); len(fs) != 0 {
		t.Fatalf("late event made a burst: %+v", fs)
	}
	if e.Stats().Late != 1 {
		t.Fatalf("late = %d", e.Stats().Late)
	}

	seq := ruleSet(t, seqRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	e = New(seq, Options{Reorder: time.Minute})
	e.Feed(ev(ls, 3, time.Hour, "LS"))
	e.Feed(ev(rcm, 1028, 2*time.Hour, "H", "A"))
	e.Feed(ev(rcm, 1028, 30*time.Minute, "H", "B")) // before the chain's last step
	if fs := e.Finish(); len(fs) != 0 {
		t.Fatalf("out-of-order step completed a sequence: %+v", fs)
	}
}

func TestAbsenceManyGroupsAndPendingCap(t *testing.T) {
	set := ruleSet(t, absenceRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	e := New(set, Options{})
	// 3000 servers stop; even-numbered ones start again 10 minutes later
	// (1500 findings: below MaxFindingsPerRule, see bounds_test.go).
	for i := 0; i < 3000; i++ {
		at := time.Duration(i) * time.Second
		name := fmt.Sprintf("LS%04d", i)
		e.Feed(ev(ls, 3, at, name))
		if i%2 == 0 {
			e.Feed(ev(ls, 0, at+10*time.Minute, name))
		}
	}
	e.Feed(ev("Service Control Manager", 7036, 3*time.Hour, "X"))
	fs := e.Finish()
	if len(fs) != 1500 {
		t.Fatalf("%d findings, want 1500", len(fs))
	}
	for _, f := range fs {
		var n int
		fmt.Sscanf(f.Group["server"], "LS%d", &n)
		if n%2 == 0 {
			t.Fatalf("%s restarted in time but fired", f.Group["server"])
		}
	}
	if n := len(e.rules[0].queue); n != 0 {
		t.Errorf("%d absence starts still queued after finish", n)
	}
	// One group with more open starts than the cap: the finding still fires.
	e = New(set, Options{})
	for i := 0; i < MaxPendingPerGroup+10; i++ {
		e.Feed(ev(ls, 3, time.Duration(i)*time.Second, "LS1"))
	}
	e.Feed(ev("Service Control Manager", 7036, 3*time.Hour, "X"))
	fs = e.Finish()
	if len(fs) != 1 || fs[0].Count != MaxPendingPerGroup || e.Stats().AbsenceDropped != 10 {
		t.Fatalf("findings %d, stats %+v", len(fs), e.Stats())
	}
}

// Live mode: findings appear between batches, absence deadlines pass on the
// wall clock, and the stream goes on afterwards.
func TestSnapshot(t *testing.T) {
	set := ruleSet(t, absenceRule+countRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	e := New(set, Options{})
	e.Feed(ev(ls, 3, 0, "LS1"))
	if fs := e.Snapshot(t0.Add(30 * time.Minute)); len(fs) != 0 {
		t.Fatalf("fired at the deadline: %+v", fs)
	}
	if fs := e.Snapshot(t0.Add(31 * time.Minute)); len(fs) != 1 || fs[0].Rule != "ls-not-restarted" {
		t.Fatalf("wall clock did not expire the absence: %+v", fs)
	}
	for i := 0; i < 3; i++ {
		e.Feed(ev(rcm, 1028, time.Hour+time.Duration(i)*time.Minute, "H", "WS1"))
	}
	fs := e.Snapshot(time.Time{})
	if len(fs) != 2 {
		t.Fatalf("after more events: %+v", fs)
	}
	if fin := e.Finish(); js(t, fin) != js(t, fs) {
		t.Fatalf("finish differs from the last snapshot:\n%s\n%s", js(t, fin), js(t, fs))
	}
}

// One Set, several engines on several goroutines (per-host scans, live and
// scan in one process): same results as one at a time. Run with -race.
func TestSharedSetConcurrentEngines(t *testing.T) {
	set := ruleSet(t, countRule+distinctRule)
	var evs []*evtx.Event
	for i := 0; i < 300; i++ {
		evs = append(evs, ev(rcm, 1028, time.Duration(i)*time.Minute, "H", fmt.Sprintf("WS%d", i%7)),
			ev("TermService", 1003, time.Duration(i)*time.Minute, "H", fmt.Sprintf("WS%d", i%5)))
	}
	want := js(t, run(t, set, Options{}, evs...))
	done := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			e := New(set, Options{})
			for _, x := range evs {
				e.Feed(x)
			}
			done <- js(t, e.Finish())
		}()
	}
	for g := 0; g < 4; g++ {
		if got := <-done; got != want {
			t.Fatal("concurrent engines disagree")
		}
	}
}

func TestDistinctWindowBoundaryAndManyGroups(t *testing.T) {
	set := ruleSet(t, distinctRule)
	// Third distinct value exactly one day after the first: inclusive.
	fs := run(t, set, Options{},
		ev("TermService", 1003, 0, "H", "A"), ev("TermService", 1003, time.Hour, "H", "B"), ev("TermService", 1003, 24*time.Hour, "H", "C"))
	if len(fs) != 1 || fs[0].Count != 3 {
		t.Fatalf("inclusive boundary: %+v", fs)
	}
	fs = run(t, set, Options{},
		ev("TermService", 1003, 0, "H", "A"), ev("TermService", 1003, time.Hour, "H", "B"), ev("TermService", 1003, 24*time.Hour+time.Second, "H", "C"))
	if len(fs) != 0 {
		t.Fatalf("beyond window: %+v", fs)
	}
	// 3000 hosts, each with two clients (never three): nothing fires, and
	// only hosts active within a day keep state.
	e := New(set, Options{})
	for i := 0; i < 3000; i++ {
		at := time.Duration(i) * time.Minute
		host := fmt.Sprintf("H%d", i)
		e.Feed(ev("TermService", 1003, at, host, "A"))
		e.Feed(ev("TermService", 1003, at, host, "B"))
	}
	if n := len(e.rules[0].groups); n > 2*24*60 {
		t.Fatalf("%d hosts held", n)
	}
	if fs := e.Finish(); len(fs) != 0 {
		t.Fatalf("fired: %d", len(fs))
	}
}

func TestSequenceManyGroupsAndReorderedFeed(t *testing.T) {
	set := ruleSet(t, strings.Replace(seqRule, `confidence = 0.9`, "confidence = 0.9\ngroup_by = { host = \"Computer\" }", 1))
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	var evs []*evtx.Event
	for i := 0; i < 2000; i++ {
		h := fmt.Sprintf("H%d", i)
		at := time.Duration(i) * time.Minute
		evs = append(evs, ev(ls, 3, at, h), ev(rcm, 1028, at+time.Minute, h, "A"))
		if i%4 == 0 { // only every fourth host completes the sequence
			evs = append(evs, ev(rcm, 1028, at+2*time.Minute, h, "B"))
		}
	}
	want := run(t, set, Options{}, evs...)
	if len(want) != 500 {
		t.Fatalf("%d findings, want 500", len(want))
	}
	// Swap neighbours: two files interleaved slightly out of order.
	for i := 0; i+1 < len(evs); i += 2 {
		evs[i], evs[i+1] = evs[i+1], evs[i]
	}
	if got := run(t, set, Options{}, evs...); js(t, got) != js(t, want) {
		t.Fatal("reordered feed changed the findings")
	}
}

func TestAbsenceAnswerFedBeforeItsStart(t *testing.T) {
	set := ruleSet(t, absenceRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	// The start (0) was written to a file read after the stop's file: the
	// reorder buffer puts the stop first, so the start answers it.
	fs := run(t, set, Options{}, ev(ls, 0, 5*time.Minute, "LS1"), ev(ls, 3, 0, "LS1"), ev("Service Control Manager", 7036, 2*time.Hour, "X"))
	if len(fs) != 0 {
		t.Fatalf("reordered answer ignored: %+v", fs)
	}
}
