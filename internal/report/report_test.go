package report

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/engine/suppress"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/kb"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

// sampleReport has one of everything a report can hold. Unit tests of the
// renderers use it; the scan tests in cmd/tsdiag cover real logs.
func sampleReport() *Report {
	base, err := kb.Load()
	if err != nil {
		panic(err)
	}
	ev := func(file string, rec uint64, d int, id uint16, client string) engine.Evidence {
		return engine.Evidence{File: file, Offset: int64(4096 + 512*rec), RecordID: rec, Time: t0.AddDate(0, 0, d),
			Provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager", EventID: id, Computer: "RDSH01",
			Values: map[string]string{"client": client}}
	}
	high := engine.Finding{ID: "temporary-cal-expired", Rule: "temporary-cal-expired", Title: "Temporary CAL expired", Severity: "high",
		Confidence: 0.9, Score: 20.5, Rank: 1, Group: map[string]string{"client": "THIN-07"}, Host: "RDSH01",
		FirstSeen: t0, LastSeen: t0.AddDate(0, 0, 40), Count: 3, Facts: map[string]any{"days": 40.123456},
		Evidence: []engine.Evidence{ev("logs/a.evtx", 10, 0, 1011, "THIN-07"), ev("logs/a.evtx", 11, 1, 1011, "THIN-07"), ev("bundle.zip!System.evtx", 3, 40, 1011, "THIN-07")},
		Timeline: []engine.Bucket{{Day: t0.Truncate(24 * time.Hour), Count: 1}, {Day: t0.AddDate(0, 0, 1).Truncate(24 * time.Hour), Count: 1}, {Day: t0.AddDate(0, 0, 40).Truncate(24 * time.Hour), Count: 1}},
		KB:       []string{"temporary-cal-expired"}}
	low := engine.Finding{ID: "unknown-diagnosis", Rule: "custom.rule", Title: "Something a user rule found", Severity: "low",
		Confidence: 0.5, Score: 1, Rank: 2, Count: 1, FirstSeen: t0, LastSeen: t0,
		Evidence: []engine.Evidence{ev("logs/b.evtx", 1, 0, 1003, "WS-1")}, Timeline: []engine.Bucket{{Day: t0.Truncate(24 * time.Hour), Count: 1}}}
	hidden := engine.Finding{ID: "invalid-client-license", Rule: "invalid-client-license", Title: "Invalid client license", Severity: "critical",
		Count: 2, Group: map[string]string{"client": "WS-9"}, FirstSeen: t0, LastSeen: t0,
		Evidence: []engine.Evidence{ev("logs/a.evtx", 12, 0, 1003, "WS-9")}}
	exp := time.Date(2099, 1, 31, 0, 0, 0, 0, time.UTC)
	return &Report{
		Version: SchemaVersion, Tool: "v1.2.3", Inputs: []string{"logs", "bundle.zip", "gone.evtx"},
		Stats: evtx.Stats{Files: 3, Bytes: 3 << 20, Records: 12345, Matched: 40, DamagedRecords: 2, DamagedChunks: 1,
			Damages:    []evtx.Damage{{File: "logs/a.evtx", Offset: 69632, Kind: "chunk", Reason: "bad chunk magic"}},
			Unreadable: []evtx.Damage{{File: "gone.evtx", Kind: "file", Reason: "open gone.evtx: no such file or directory"}},
			Skipped:    []evtx.Damage{{File: "logs/notes.txt", Kind: "skipped", Reason: "not an event log"}}},
		Engine:   engine.Stats{Events: 40, Matched: 6},
		Duration: 1500 * time.Millisecond, Now: t0.AddDate(0, 0, 41), FailOn: "high",
		Rules: []RuleRef{{ID: "temporary-cal-expired", Diagnosis: "temporary-cal-expired", Title: "Temporary CAL expired", Severity: "high"},
			{ID: "invalid-client-license", Diagnosis: "invalid-client-license", Title: "Invalid client license", Severity: "medium"},
			{ID: "custom.rule", Diagnosis: "unknown-diagnosis", Title: "Something", Severity: "low"}},
		Findings:            Items([]engine.Finding{high, low}, base),
		Suppressed:          []suppress.Suppressed{{Finding: hidden, By: suppress.Entry{Diagnosis: "invalid-client-license", Reason: "retiring WS-9", Expires: exp, File: "s.toml", Line: 1}}},
		ExpiredSuppressions: []suppress.Expired{{Entry: suppress.Entry{Diagnosis: "temporary-cal-expired", Reason: "old", Expires: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), File: "s.toml", Line: 6}, Matched: 1}},
		Histogram:           []engine.Bucket{{Day: t0.Truncate(24 * time.Hour), Count: 30}, {Day: t0.AddDate(0, 0, 40).Truncate(24 * time.Hour), Count: 10}},
		Config:              sampleConfig(),
	}
}

func TestItemsAttachArticleAndRenumber(t *testing.T) {
	r := sampleReport()
	if r.Findings[0].Article == nil || len(r.Findings[0].Steps) == 0 || r.Findings[0].Steps[0].Rank != 1 {
		t.Fatalf("first finding lacks its article or steps: %+v", r.Findings[0])
	}
	if r.Findings[1].Article != nil || r.Findings[1].Rank != 2 {
		t.Fatalf("unknown diagnosis got an article or wrong rank")
	}
	base, _ := kb.Load()
	items := Items([]engine.Finding{{ID: "x", Rank: 7}, {ID: "y", Rank: 9}}, base)
	if items[0].Rank != 1 || items[1].Rank != 2 {
		t.Fatalf("ranks %d %d, want 1 2", items[0].Rank, items[1].Rank)
	}
}

func TestFailOnThresholds(t *testing.T) {
	for _, c := range []struct {
		sev, on string
		want    bool
	}{{"high", "high", true}, {"critical", "high", true}, {"medium", "high", false}, {"info", "info", true}, {"critical", "none", false}} {
		if got := AtLeast(c.sev, c.on); got != c.want {
			t.Errorf("AtLeast(%s, %s) = %v", c.sev, c.on, got)
		}
	}
	if ValidFailOn("urgent") == nil || ValidFailOn("none") != nil {
		t.Fatal("ValidFailOn")
	}
	r := sampleReport()
	if len(r.Failing()) != 1 {
		t.Fatalf("failing %d, want 1 (the high one)", len(r.Failing()))
	}
	r.FailOn = "low"
	if len(r.Failing()) != 2 {
		t.Fatalf("failing at low %d, want 2", len(r.Failing()))
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	r := sampleReport()
	var plain, coloured bytes.Buffer
	if err := WriteTextOptions(&plain, r, Options{Width: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&coloured, r, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("escape codes with colour off")
	}
	if !strings.Contains(coloured.String(), "\x1b[") {
		t.Error("no escape codes with colour on")
	}
	out := plain.String()
	for _, want := range []string{
		"2 findings (1 HIGH, 1 LOW) in 3 files, 12,345 records (2 damaged records, 1 damaged chunks)",
		"unreadable: gone.evtx", "damaged: logs/a.evtx at offset 69632 (chunk): bad chunk magic",
		"#1 HIGH temporary-cal-expired", "for client=THIN-07, host=RDSH01", "Facts: days=40.12",
		"What to do, in order:", "Suppressed:", "invalid-client-license (client=WS-9) until 2099-01-31: retiring WS-9",
		"expired suppression: temporary-cal-expired expired 2020-01-01 (old)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q\n%s", want, out)
		}
	}
}

func TestDayRangeFoldsLongSpans(t *testing.T) {
	day0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var b []engine.Bucket
	for d := 0; d < 200; d += 10 {
		b = append(b, engine.Bucket{Day: day0.AddDate(0, 0, d), Count: d + 1})
	}
	slots := dayRange(b, 60)
	if len(slots) > 60 || len(slots) < 30 {
		t.Fatalf("%d slots for 191 days capped at 60", len(slots))
	}
	total, want := 0, 0
	for _, s := range slots {
		total += s.Count
	}
	for _, x := range b {
		want += x.Count
	}
	if total != want || !slots[0].From.Equal(day0) || !slots[len(slots)-1].To.Equal(day0.AddDate(0, 0, 190)) {
		t.Fatalf("total %d want %d, span %v–%v", total, want, slots[0].From, slots[len(slots)-1].To)
	}
	if s := dayRange(b[:1], 60); len(s) != 1 || s[0].label() != "2024-01-01" {
		t.Fatalf("one day: %+v", s)
	}
}

func TestJUnitCasesPerIncidentFollowFailOn(t *testing.T) {
	r := sampleReport()
	doc := junitOf(t, r)
	if len(doc.Suites) != 3 {
		t.Fatalf("%d suites, want one per input", len(doc.Suites))
	}
	logs, bundle, gone := doc.Suites[0], doc.Suites[1], doc.Suites[2]
	// logs/: the high incident fails at --fail-on high; the low one passes with its details in
	// system-out; the suppressed one is skipped.
	if logs.Tests != 3 || logs.Failures != 1 || logs.Skipped != 1 {
		t.Errorf("logs suite %+v", logs)
	}
	var low *junitCase
	for i, c := range logs.Cases {
		if c.Name == "unknown-diagnosis" {
			low = &logs.Cases[i]
		}
	}
	if low == nil || low.Failure != nil || !strings.Contains(low.SystemOut, "passes: low is below --fail-on high") {
		t.Errorf("low incident case %+v, want passing with details", low)
	}
	if bundle.Failures != 1 || bundle.Cases[0].Failure == nil || !strings.Contains(bundle.Cases[0].Failure.Text, "THIN-07") {
		t.Errorf("bundle suite %+v", bundle)
	}
	if gone.Errors != 1 || gone.Cases[0].Error == nil || gone.Failures != 0 || gone.Tests != 4 {
		t.Errorf("unreadable input suite %+v", gone)
	}
	if doc.Tests != 3+3+4 || doc.Failures != 2 || doc.Errors != 1 {
		t.Errorf("totals %+v", doc)
	}
	r.FailOn = "none"
	if doc := junitOf(t, r); doc.Failures != 0 || doc.Errors != 1 {
		t.Errorf("at --fail-on none: %d failures, %d errors; want 0 and the unreadable input", doc.Failures, doc.Errors)
	}
	r.FailOn = "low"
	if doc := junitOf(t, r); doc.Failures != 3 {
		t.Errorf("at --fail-on low: %d failures, want 3 (two incidents in logs/, one in the bundle)", doc.Failures)
	}
}

func junitOf(t *testing.T, r *Report) junitSuites {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return doc
}

func TestUnderMatchesDirsArchivesStdin(t *testing.T) {
	for _, c := range []struct {
		file, input string
		want        bool
	}{
		{"logs/a.evtx", "logs", true}, {"logs/a.evtx", "logs/", true}, {"bundle.zip!System.evtx", "bundle.zip", true},
		{"logs2/a.evtx", "logs", false}, {"<stdin>", "-", true}, {"a.evtx", "a.evtx", true}, {"a.evtx.bak", "a.evtx", false},
	} {
		if got := under(c.file, c.input); got != c.want {
			t.Errorf("under(%q, %q) = %v", c.file, c.input, got)
		}
	}
}

func TestSARIFLocationsAndURIs(t *testing.T) {
	if got := fileURI("bundle.zip!System.evtx"); got != "bundle.zip%21System.evtx" && got != "bundle.zip!System.evtx" {
		t.Errorf("fileURI = %q", got)
	}
	if got := fileURI("/var/log/my logs/System.evtx"); got != "file:///var/log/my%20logs/System.evtx" {
		t.Errorf("fileURI abs = %q", got)
	}
	var b bytes.Buffer
	if err := WriteSARIF(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{`"version": "2.1.0"`, `"ruleId": "temporary-cal-expired"`, `"byteOffset": 5632`,
		`"name": "record 3"`, `"kind": "external"`, `"justification": "retiring WS-9`, `"executionSuccessful": false`,
		`"version": "1.2.3"`, `"markdown": "**`} {
		if !strings.Contains(out, want) {
			t.Errorf("SARIF lacks %s", want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, sampleReport(), "pdf", Options{}); err == nil || !strings.Contains(err.Error(), "markdown") {
		t.Fatalf("err = %v", err)
	}
}

func TestHTMLEscapesLogText(t *testing.T) {
	r := sampleReport()
	r.Findings[1].Evidence[0].Values = map[string]string{"client": `<script>alert(1)</script>`}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script>") || !strings.Contains(b.String(), "&lt;script&gt;") {
		t.Fatal("log text reached the page unescaped")
	}
}

func TestMarkdownCapsDetailedSections(t *testing.T) {
	r := sampleReport()
	for len(r.Findings) < MarkdownDetailed+3 {
		r.Findings = append(r.Findings, r.Findings[0])
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\n### "); n != MarkdownDetailed {
		t.Errorf("%d detailed sections, want %d", n, MarkdownDetailed)
	}
	if !strings.Contains(out, "_3 more findings are in the table above") || strings.Count(out, "\n| ") < MarkdownDetailed+3 {
		t.Errorf("table or note missing:\n%s", out)
	}
}

// A finding with nothing but an id (a user rule with no evidence kept, no
// timeline, no article) and an empty report render in every format.
func TestSparseReportsRender(t *testing.T) {
	sparse := &Report{Inputs: []string{"-"}, FailOn: "none", Findings: Items([]engine.Finding{{ID: "x", Severity: "weird"}}, nil)}
	empty := &Report{}
	for _, r := range []*Report{sparse, empty} {
		for _, format := range Formats {
			var b bytes.Buffer
			if err := Write(&b, r, format, Options{Color: true}); err != nil {
				t.Errorf("%s: %v", format, err)
			}
			if b.Len() == 0 {
				t.Errorf("%s: empty output", format)
			}
		}
	}
	var b bytes.Buffer
	WriteJSON(&b, empty)
	validateJSON(t, b.Bytes())
}

func TestSpreadNamesVaryingValues(t *testing.T) {
	var ev []engine.Evidence
	for i, c := range []string{"WS-2", "WS-1", "WS-2", "WS-3"} {
		ev = append(ev, engine.Evidence{RecordID: uint64(i), Values: map[string]string{"client": c, "host": "RDSH01", "param1": c}})
	}
	got := spread(ev)
	if len(got) != 1 || got[0] != "client: WS-1, WS-2, WS-3" {
		t.Fatalf("spread = %q", got)
	}
	if spread(ev[:1]) != nil {
		t.Fatal("one event has no spread")
	}
}
