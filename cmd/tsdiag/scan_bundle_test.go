package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// The CI journey: a folder of support bundles (.tar.gz), one per scenario
// of internal/scenario/scenarios, scanned in one run with --separate (scenarios,
// like customers, reuse host names). Every scenario's diagnosis is found
// for its host and healthy hosts get nothing above info.
func TestScanScenarioBundle(t *testing.T) {
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Skip("no scenarios in internal/scenario/scenarios yet")
	}
	t.Chdir(t.TempDir())
	var inputs []string
	for _, sc := range all {
		var buf bytes.Buffer
		w := writer.New(&buf)
		for _, r := range sc.Generate(1, scenario.DefaultStart, 0) {
			if err := w.Write(r); err != nil {
				t.Fatalf("%s: %v", sc.ID, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		name := "bundles/" + sc.ID + ".tgz"
		members := map[string][]byte{"logs/System.evtx": buf.Bytes(), "msinfo.txt": []byte("host info")}
		for _, f := range sc.RegistryFiles() {
			members[f.Name] = f.Data
		}
		states, err := sc.StateFiles(scenario.DefaultStart)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range states {
			members[f.Name] = f.Data
		}
		writeFixtureFile(t, name, string(tgz(t, members)))
		inputs = append(inputs, name)
	}

	code, out, stderr := scanCLI(t, "", append([]string{"scan", "--separate", "--format", "json", "--fail-on", "none"}, inputs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Stats    struct{ Files int }
		Findings []struct {
			ID, Severity string
			Group        map[string]string
			Host         string
			Facts        map[string]any
			Evidence     []struct{ File string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Files != len(all) {
		t.Errorf("%d files read, want %d", rep.Stats.Files, len(all))
	}
	for _, sc := range all {
		member := "bundles/" + sc.ID + ".tgz!"
		var got []string
		found := false
		for _, f := range rep.Findings {
			// Several scenarios share host names, so one finding may carry
			// evidence from several members: it counts for each.
			if !anyUnder(f.Evidence, member) {
				continue
			}
			got = append(got, f.ID+"/"+f.Severity)
			if healthy(sc) && f.Severity != "info" {
				t.Errorf("%s (healthy): finding %s %s", sc.ID, f.ID, f.Severity)
			}
			if f.ID == sc.Expect.Diagnosis && groupHas(f.Group, f.Host, f.Facts, sc.Expect.Group) {
				found = true
			}
		}
		if sc.Configured() {
			// Found from the configuration: no event evidence names the member.
			checkRegistryBundle(t, sc, "bundles/"+sc.ID+".tgz")
			continue
		}
		if !healthy(sc) && !found {
			t.Errorf("%s: want %s %v; findings from its log: %v", sc.ID, sc.Expect.Diagnosis, sc.Expect.Group, got)
		}
	}
}

// groupHas tells whether a finding's group (or host) carries every
// expected label, case-insensitively (hosts are compared by short name too).
// groupHas: labels beyond the incident's (client, user…) are folded into
// "<label>s" list facts.
func groupHas(group map[string]string, host string, facts map[string]any, want map[string]string) bool {
	for k, v := range want {
		if inList(facts[k+"s"], v) {
			continue
		}
		got := group[k]
		if got == "" && k == "host" {
			got = host
		}
		if !strings.EqualFold(got, v) && !strings.EqualFold(strings.Split(got, ".")[0], strings.Split(v, ".")[0]) {
			return false
		}
	}
	return true
}

func healthy(sc scenario.Scenario) bool {
	return sc.Expect.Diagnosis == "" || sc.Expect.Diagnosis == "none"
}

func anyUnder(ev []struct{ File string }, prefix string) bool {
	for _, e := range ev {
		if strings.HasPrefix(e.File, prefix) {
			return true
		}
	}
	return false
}

// checkRegistryBundle scans one bundle whose diagnosis comes from its
// registry export (a .reg member beside logs/System.evtx): the diagnosis
// ranks first for the scenario's host, or nothing above info for a healthy
// configuration.
func checkRegistryBundle(t *testing.T, sc scenario.Scenario, bundle string) {
	t.Helper()
	_, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", bundle)
	var rep struct {
		Findings []struct{ ID, Severity, Host string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%s: %v: %s", sc.ID, err, stderr)
	}
	if healthy(sc) {
		for _, f := range rep.Findings {
			if f.Severity != "info" {
				t.Errorf("%s (healthy): %s %s", sc.ID, f.ID, f.Severity)
			}
		}
		return
	}
	if len(rep.Findings) == 0 || rep.Findings[0].ID != sc.Expect.Diagnosis ||
		!strings.EqualFold(rep.Findings[0].Host, sc.Expect.Group["host"]) {
		t.Errorf("%s: findings %+v, want %s for %s first", sc.ID, rep.Findings, sc.Expect.Diagnosis, sc.Expect.Group["host"])
	}
}
