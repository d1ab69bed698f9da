package tsdiag_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsdiag/tsdiag"
)

// Suppressing a cause leaves no symptom pointing at it: the temporary-CAL
// incident that nested under the exhausted pool stands on its own.
func TestSuppressedCauseLeavesNoDanglingLink(t *testing.T) {
	dir := caseDir(t, "cal-pool-exhausted-2016", "")
	scan := func(cfg tsdiag.Config) *tsdiag.Report {
		d, err := tsdiag.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := d.Scan(context.Background(), tsdiag.Paths(dir)...)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	nested := 0
	for _, it := range scan(tsdiag.Config{}).Findings {
		if it.CausedBy == "cal-pool-exhausted@LS01" {
			nested++
		}
	}
	if nested == 0 {
		t.Fatal("nothing nested under the pool without suppression: the test would prove nothing")
	}
	sup := filepath.Join(t.TempDir(), "accept.toml")
	os.WriteFile(sup, []byte("[[suppress]]\ndiagnosis = \"cal-pool-exhausted\"\nreason = \"order placed\"\nexpires = 2099-01-31\n"), 0o644)
	rep := scan(tsdiag.Config{Suppress: sup})
	keys := map[string]bool{}
	for _, it := range rep.Findings {
		keys[it.Key] = true
	}
	for _, it := range rep.Findings {
		if it.ID == "cal-pool-exhausted" {
			t.Errorf("suppressed %s still reported", it.Key)
		}
		if it.CausedBy != "" && !keys[it.CausedBy] {
			t.Errorf("%s caused by %s, which is not in the report", it.Key, it.CausedBy)
		}
		for _, s := range it.Symptoms {
			if !keys[s] {
				t.Errorf("%s lists symptom %s, which is not in the report", it.Key, s)
			}
		}
	}
}
