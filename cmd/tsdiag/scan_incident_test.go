package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// With --separate the cases' lists are merged; a cause and the symptoms
// listed after it stay together.
func TestScanSeparateKeepsSymptomsUnderTheirCause(t *testing.T) {
	dir := t.TempDir()
	var inputs []string
	for _, id := range []string{"story-no-license-server-grace-2003", "story-no-license-server-grace-2019"} {
		p := filepath.Join(dir, id+".evtx")
		if code, _, stderr := genCLI(t, "gen", id, "-o", p); code != 0 {
			t.Fatalf("gen %s: %s", id, stderr)
		}
		inputs = append(inputs, p)
	}
	code, out, stderr := scanCLI(t, "", append([]string{"scan", "--separate", "--format", "json", "--fail-on", "none"}, inputs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Findings []struct{ ID, Host string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.ID+"@"+strings.Split(f.Host, ".")[0])
	}
	if len(got) != 4 || got[0][:17] != "no-license-server" || got[1][:20] != "grace-period-expired" ||
		got[2][:17] != "no-license-server" || got[3][:20] != "grace-period-expired" ||
		strings.Split(got[0], "@")[1] != strings.Split(got[1], "@")[1] {
		t.Fatalf("order %v, want each cause followed by its own symptom", got)
	}
}
