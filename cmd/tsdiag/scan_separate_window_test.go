package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With --separate a relative --since counts back from each case's own newest
// event: two bundles a year apart each keep their last days, and the report
// gives each case's window, not the last case's for all.
func TestSeparateSinceIsPerCase(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.evtx")
	recent := filepath.Join(dir, "recent.evtx")
	for p, start := range map[string]string{old: "2023-01-08", recent: "2024-03-01"} {
		if code, _, stderr := genCLI(t, "gen", "cal-pool-exhausted-2016", "--start", start, "-o", p); code != 0 {
			t.Fatalf("gen: %s", stderr)
		}
	}
	code, out, stderr := scanCLI(t, "", "scan", "--separate", "--since", "2d", "--format", "json", "--fail-on", "none", old, recent)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Window struct {
			Since time.Time `json:"since"`
			Cases []struct {
				Input  string    `json:"input"`
				Since  time.Time `json:"since"`
				Before int       `json:"set_aside_before"`
			} `json:"cases"`
		} `json:"window"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Window.Cases
	if len(c) != 2 || c[0].Input != old || c[1].Input != recent {
		t.Fatalf("cases %+v, want one per input in order", c)
	}
	if c[0].Since.Year() != 2023 || c[1].Since.Year() != 2024 || c[0].Before == 0 || c[1].Before == 0 {
		t.Errorf("case windows %+v: each must count back from its own newest event", c)
	}
	if !rep.Window.Since.Equal(c[0].Since) {
		t.Errorf("window since %s, want the earliest case's %s", rep.Window.Since, c[0].Since)
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "each case from its own newest event") ||
		!strings.Contains(rep.Warnings[0], old+": ") || !strings.Contains(rep.Warnings[0], recent+": ") {
		t.Errorf("warning %q, want both cases named", rep.Warnings)
	}
	// Trap: without --separate there is one window and no per-case list.
	_, out, _ = scanCLI(t, "", "scan", "--since", "2d", "--format", "json", "--fail-on", "none", old, recent)
	if strings.Contains(out, `"cases"`) {
		t.Error("a single case must not list per-case windows")
	}
}
