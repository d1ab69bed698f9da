package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
	"github.com/tsdiag/tsdiag/rules"
)

// scanScenario writes a built-in scenario as EVTX with the project's
// encoder, decodes it and runs the built-in pack.
func scanScenario(t *testing.T, id string) ([]Finding, Stats) {
	t.Helper()
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := scenario.Find(all, id)
	if !ok {
		t.Fatalf("no scenario %s", id)
	}
	path := filepath.Join(t.TempDir(), id+".evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for _, r := range sc.Generate(1, scenario.DefaultStart, 0) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	eng := New(set, Options{})
	if _, err := source.Walk([]string{path}, source.Options{Filter: set.Filter()}, eng.Feed); err != nil {
		t.Fatal(err)
	}
	return eng.Finish(), eng.Stats()
}

func TestTransientTrapsAreInfo(t *testing.T) {
	for _, c := range []struct {
		id        string
		status    string // every license-server finding's status
		transient int    // Stats.Transient
		episodes  int    // recoveries of a resolved finding
	}{
		{"transient-ls-patch-reboot-2019", StatusResolved, 0, 1},
		{"transient-nightly-ls-restart-2019", StatusResolved, 0, 8},
		{"transient-boot-failure-2016", StatusTransient, 1, 0},
		{"transient-midnight-outage-2016", StatusTransient, 1, 0},
	} {
		t.Run(c.id, func(t *testing.T) {
			fs, st := scanScenario(t, c.id)
			if len(fs) == 0 {
				t.Fatal("no finding: the trap is not exercised")
			}
			for _, f := range fs {
				if f.Severity != "info" || f.Status != c.status {
					t.Errorf("%s [%s] %s: severity %s status %s, want info %s", f.ID, f.Rule, GroupString(f.Group), f.Severity, f.Status, c.status)
				}
				if f.OriginalSeverity == "" || f.OriginalSeverity == "info" {
					t.Errorf("%s: original severity %q", f.Rule, f.OriginalSeverity)
				}
				switch f.Status {
				case StatusResolved:
					spell, _ := f.Facts["last_episode_seconds"].(float64)
					if f.ResolvedAt.Before(f.LastSeen) || f.LastedSeconds < spell || spell <= 0 || spell > 10*60 || f.Facts["recovered_by"] == "" {
						t.Errorf("%s: resolved at %v (last %v), lasted %vs, last spell %vs, by %v", f.Rule, f.ResolvedAt, f.LastSeen, f.LastedSeconds, spell, f.Facts["recovered_by"])
					}
					// A distinct rule's finding starts when its threshold is met
					// (day 7 of the nightly restarts), so count the plain rule.
					if n, _ := f.Facts["episodes"].(int); n < 1 || (f.Rule == "license-server-unreachable" && n != c.episodes) {
						t.Errorf("%s: %v episodes, want %d", f.Rule, n, c.episodes)
					}
				case StatusTransient:
					if f.Facts["persistence"] == nil || !f.ResolvedAt.IsZero() {
						t.Errorf("%s: facts %v resolved %v", f.Rule, f.Facts, f.ResolvedAt)
					}
				}
			}
			if st.Transient != c.transient {
				t.Errorf("Stats.Transient = %d, want %d", st.Transient, c.transient)
			}
		})
	}
}

// The real outage scenario has no recovery: it stays active and alarms.
func TestRealOutageStaysActive(t *testing.T) {
	fs, st := scanScenario(t, "license-server-unreachable-2016")
	if len(fs) == 0 || fs[0].ID != "license-server-unreachable" || fs[0].Status != StatusActive || fs[0].Severity == "info" {
		t.Fatalf("first finding %+v", fs)
	}
	if st.Transient != 0 {
		t.Errorf("transient %d", st.Transient)
	}
}

func TestCountdownReadInTheHostsZone(t *testing.T) {
	fs, _ := scanScenario(t, "local-dates-est-2019")
	if len(fs) == 0 || fs[0].ID != "grace-period-expiring" {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0].Facts
	if f["expires"] != "2024-01-22T05:00:00Z" || f["tz_assumed"] != "UTC-05:00 (Eastern Standard Time, from EventLog 6013)" {
		t.Errorf("facts %v", f)
	}
}

// recovery.quiet: resolved only once that long passed after the recovery
// with no further match; a match after it re-opens.
func TestRecoveryQuiet(t *testing.T) {
	set := ruleSet(t, `
[[rule]]
id = "renewals"
title = "t"
severity = "high"
confidence = 1
classes = ["renew_failed"]
group_by = { host = "Computer" }
[rule.recovery]
classes = ["ls_started"]
match = ["host"]
group_by = { host = "'RDSH1'" }
quiet = "1h"
`)
	lic := "Microsoft-Windows-TerminalServices-Licensing"
	fail := func(at time.Duration) *evtx.Event { return ev("TermService", 1028, at, "RDSH1", "PC1") }
	noise := func(at time.Duration) *evtx.Event {
		return ev("Service Control Manager", 7036, at, "RDSH1", "x", "running")
	}
	for _, c := range []struct {
		name string
		evs  []*evtx.Event
		want string
	}{
		{"quiet not over yet", []*evtx.Event{fail(0), ev(lic, 0, 10*time.Minute, "LS1"), noise(40 * time.Minute)}, StatusActive},
		{"quiet over", []*evtx.Event{fail(0), ev(lic, 0, 10*time.Minute, "LS1"), noise(2 * time.Hour)}, StatusResolved},
		{"failure after recovery re-opens", []*evtx.Event{fail(0), ev(lic, 0, 10*time.Minute, "LS1"), fail(20 * time.Minute), noise(3 * time.Hour)}, StatusActive},
		{"recovery before the trouble is none", []*evtx.Event{ev(lic, 0, 0, "LS1"), fail(10 * time.Minute), noise(3 * time.Hour)}, StatusActive},
	} {
		fs := run(t, set, Options{}, c.evs...)
		if len(fs) != 1 || fs[0].Status != c.want {
			t.Errorf("%s: %+v, want status %s", c.name, fs, c.want)
		}
	}
}
