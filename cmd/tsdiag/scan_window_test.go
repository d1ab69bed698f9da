package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/internal/report"
)

// #14: a --since duration counts back from the reference time (the newest
// event unless --now), not from the wall clock. The scenario log starts on
// 2024-01-08, years before the clock this test runs at: counted from the
// wall clock, --since 30d set aside every event and printed "No licensing
// problem found", exit 0.
func TestSinceCountsBackFromTheNewestEvent(t *testing.T) {
	log := scenarioLog(t, "grace-period-expired-2019")
	t.Chdir(t.TempDir())
	if err := os.WriteFile("System.evtx", log, 0o644); err != nil {
		t.Fatal(err)
	}
	_, whole, _ := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "System.evtx")
	code, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "--since", "30d", "System.evtx")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var w, r struct {
		Findings []struct{ ID string }
		Window   struct {
			Since  time.Time `json:"since"`
			Newest time.Time `json:"newest_event"`
			Before int       `json:"set_aside_before"`
			Kept   int
		}
		Warnings []string
	}
	if errs, err := report.Validate("", []byte(out)); err != nil || len(errs) > 0 {
		t.Fatalf("schema: %v %v", err, errs)
	}
	json.Unmarshal([]byte(whole), &w)
	json.Unmarshal([]byte(out), &r)
	if len(r.Findings) == 0 || len(r.Findings) != len(w.Findings) || r.Window.Before != 0 || r.Window.Kept == 0 || len(r.Warnings) != 0 {
		t.Fatalf("--since 30d on a month-long log: %d findings (whole log %d), window %+v, warnings %v", len(r.Findings), len(w.Findings), r.Window, r.Warnings)
	}
	if !r.Window.Since.Equal(r.Window.Newest.Add(-30 * 24 * time.Hour)) {
		t.Fatalf("since %s is not 30 days before the newest event %s", r.Window.Since, r.Window.Newest)
	}

	// --now moves the reference: 30 days before 2026-01-01 holds nothing of
	// the log. Never a quiet pass: the first line says so, exit 2.
	code, text, stderr := scanCLI(t, "", "scan", "--since", "30d", "--now", "2026-01-01", "System.evtx")
	first := strings.SplitN(text, "\n", 2)[0]
	if code != exitError || !strings.HasPrefix(first, "Nothing diagnosed: the time window set aside all ") ||
		!strings.Contains(stderr, "nothing diagnosed") || !strings.Contains(stderr, "--keep-going") {
		t.Fatalf("exit %d, first line %q, stderr %s", code, first, stderr)
	}
	// --keep-going accepts it (exit 0) and the report still says it.
	code, text, _ = scanCLI(t, "", "scan", "--keep-going", "--since", "30d", "--now", "2026-01-01", "System.evtx")
	if code != exitOK || !strings.HasPrefix(text, "Nothing diagnosed: ") {
		t.Fatalf("--keep-going: exit %d\n%s", code, text)
	}
	// A window that keeps some events says how many it set aside.
	code, text, _ = scanCLI(t, "", "scan", "--fail-on", "none", "--since", "3d", "System.evtx")
	lines := strings.Split(text, "\n")
	if code != exitOK || !strings.HasPrefix(lines[1], "Warning: the time window set aside ") || !strings.Contains(lines[1], "(--since)") {
		t.Fatalf("exit %d\n%s", code, text)
	}

	// Standard input cannot be read twice to find the newest event.
	code, _, stderr = scanCLI(t, string(log), "scan", "--since", "30d", "-")
	if code != exitError || !strings.Contains(stderr, "standard input") || !strings.Contains(stderr, "--now") {
		t.Fatalf("stdin without --now: exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = scanCLI(t, string(log), "scan", "--fail-on", "none", "--since", "30d", "--now", "2024-02-10", "-")
	if code != exitOK {
		t.Fatalf("stdin with --now: exit %d, stderr %s", code, stderr)
	}
	// An absolute --since is unaffected and needs no first pass.
	code, _, stderr = scanCLI(t, string(log), "scan", "--fail-on", "none", "--since", "2024-01-01", "-")
	if code != exitOK {
		t.Fatalf("stdin with an absolute --since: exit %d, stderr %s", code, stderr)
	}
}
