package engine

import (
	"path/filepath"
	"strings"
	"testing"
)

// One set of refusals read two ways is one diagnosis: the explaining one
// stays, the misreading folds into it (rule in AlsoMatched, "explains"
// fact), and a symptom of the misreading follows to the explaining cause.
// Traps: a real empty pool, a farm mixed on purpose, and a version finding
// for another CAL type keep their own findings.
func TestExplainedFindingsFold(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	ids := func(fs []Finding) string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		scenario, want, explains string
	}{
		// 22 for 2019 per-user CALs beside 2016 per-user CALs: a version problem.
		{"calver-2016-cals-on-2019-host", "cal-version-incompatible", "licensing-mode-mismatch"},
		{"cal-version-incompatible-2019", "cal-version-incompatible", "licensing-mode-mismatch"},
		// 21 for per-device while per-user CALs are issued: the mismatch, not an empty pool;
		// the host's 1004 nests under it.
		{"licensing-mode-mismatch-2012r2", "licensing-mode-mismatch,cannot-issue-client-license", "cal-pool-exhausted"},
		// Traps.
		{"cal-pool-exhausted-2016", "cal-pool-exhausted,temporary-cal-expired,cal-pool-running-low,cannot-issue-client-license", ""},
		{"mixed-farm-2019", "cal-pool-exhausted", ""},
	} {
		fs, _ := scan(t, set, Options{}, genFile(t, dir, c.scenario+".evtx", c.scenario))
		if got := ids(fs); got != c.want {
			t.Errorf("%s: findings %s, want %s", c.scenario, got, c.want)
			continue
		}
		ex, _ := fs[0].Facts["explains"].([]string)
		if got := strings.Join(ex, ","); got != c.explains {
			t.Errorf("%s: explains %q, want %q", c.scenario, got, c.explains)
		}
		if c.explains != "" && !strings.Contains(strings.Join(fs[0].AlsoMatched, ","), c.explains) {
			t.Errorf("%s: also matched %v, want a rule of %s", c.scenario, fs[0].AlsoMatched, c.explains)
		}
		if _, ok := fs[0].Facts["wrong_side"]; ok && c.want != "licensing-mode-mismatch,cannot-issue-client-license" {
			t.Errorf("%s: the mismatch's advice leaked into %s: %v", c.scenario, fs[0].ID, fs[0].Facts["wrong_side"])
		}
	}
	// Trap: the server holds per-device CALs and is asked for per-user ones:
	// no version finding (the type held is not the type asked), the
	// mismatch stands.
	perDevice := func(s string) string {
		return strings.ReplaceAll(s, "2016 - RDS Per User CAL", "2016 - RDS Per Device CAL")
	}
	recs := scenarioRecords(t, "calver-2016-cals-on-2019-host", perDevice)
	fs, _ := scan(t, set, Options{}, writeEVTX(t, filepath.Join(dir, "other-type.evtx"), recs))
	if got := ids(fs); got != "licensing-mode-mismatch" {
		t.Errorf("per-user asked of a per-device server: %s, want the mismatch alone", got)
	}
}
