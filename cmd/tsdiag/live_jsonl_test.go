package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/internal/report"
)

// live --format jsonl writes each finding in the json report's shape: every
// line follows the schema's finding_line, and its finding is, field for
// field and number for number, the finding the json report writes for the
// same snapshot (a stream has no command-line input, so "input" is empty):
// one shape and one rule for numbers.
func TestLiveJSONLinesAreTheReportsFindings(t *testing.T) {
	d, err := tsdiag.New(tsdiag.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stream(tsdiag.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	wall := time.Date(2024, 3, 10, 7, 12, 0, 0, time.UTC)
	pr := newFindingPrinter(&out, "jsonl", nil)
	pr.clock = func() time.Time { return wall }
	fol := &follower{st: st, filter: d.Filter(), pr: pr, wall: func() time.Time { return wall }}
	var evs []*evtx.Event
	for day := 1; day <= 5; day++ {
		evs = append(evs, &evtx.Event{Provider: rcmProvider, EventID: 50281, Channel: "System", Computer: "RDSH01",
			TimeCreated: time.Date(2024, 3, day, 3, 0, 0, 0, time.UTC), Params: []string{"3/20/2024"}})
	}
	if err := fol.batch(evs); err != nil {
		t.Fatal(err)
	}
	if err := fol.batch(nil); err != nil { // caught up
		t.Fatal(err)
	}

	// The report's findings for the same snapshot, by id.
	items := st.Snapshot(wall)
	if len(items) == 0 {
		t.Fatal("no findings")
	}
	var full bytes.Buffer
	if err := report.WriteJSON(&full, &report.Report{Findings: items, Now: wall}); err != nil {
		t.Fatal(err)
	}
	var rep struct{ Findings []map[string]any }
	if err := json.Unmarshal(full.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// A fact with a fraction (9.7 days left at 07:12), so that a line
	// rounding numbers its own way would differ from the report.
	if dl, _ := rep.Findings[0]["facts"].(map[string]any)["days_left"].(float64); dl == float64(int(dl)) {
		t.Fatalf("days_left %v has no fraction: %s", dl, full.String())
	}
	want := map[string]string{}
	for _, f := range rep.Findings {
		f["input"] = ""
		want[f["id"].(string)] = mustMarshal(t, f)
	}

	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		if errs, err := report.Validate("finding_line", sc.Bytes()); err != nil || len(errs) > 0 {
			t.Fatalf("line does not follow finding_line: %v %v\n%s", err, errs, sc.Text())
		}
		var line struct{ Finding map[string]any }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		id, _ := line.Finding["id"].(string)
		if got := mustMarshal(t, line.Finding); got != want[id] {
			t.Errorf("line finding %s differs from the report's:\nline:   %s\nreport: %s", id, got, want[id])
		}
	}
	if lines != len(items) {
		t.Fatalf("%d lines for %d findings:\n%s", lines, len(items), out.String())
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
