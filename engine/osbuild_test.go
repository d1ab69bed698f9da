package engine

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// Each finding carries its host's OS build from the boot events (EventLog
// 6009) of its log; a host upgraded in place gets the newer build; a log
// without 6009 gives no os_build (nothing is guessed).
func TestFindingsCarryTheHostsBuild(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	buildOf := func(fs []Finding) []any {
		var out []any
		for _, f := range fs {
			out = append(out, f.Facts["os_build"])
		}
		return out
	}
	fs, _ := scan(t, set, Options{}, genFile(t, dir, "2019.evtx", "grace-period-expired-2019"))
	if len(fs) == 0 || fs[0].Facts["os_build"] != 17763 {
		t.Fatalf("2019 log: os_build %v, want 17763", buildOf(fs))
	}
	as2012 := func(s string) string { return strings.Replace(s, `era = "2019"`, `era = "2012r2"`, 1) }
	fs, _ = scan(t, set, Options{}, writeEVTX(t, filepath.Join(dir, "2012.evtx"), scenarioRecords(t, "grace-period-expired-2019", as2012)))
	if len(fs) == 0 || fs[0].Facts["os_build"] != 9600 {
		t.Fatalf("same log with 2012 R2 boots: os_build %v, want 9600", buildOf(fs))
	}
	// Upgrade in place: months of 2012 R2 boots, then the 2019 log.
	old := shifted(scenarioRecords(t, "grace-period-expired-2019", as2012), -90*24*time.Hour)
	both := append(old, scenarioRecords(t, "grace-period-expired-2019", nil)...)
	fs, _ = scan(t, set, Options{}, writeEVTX(t, filepath.Join(dir, "upgraded.evtx"), both))
	if len(fs) == 0 || fs[0].Facts["os_build"] != 17763 {
		t.Fatalf("upgraded host: os_build %v, want the newer 17763", buildOf(fs))
	}
	// Trap: without boot events there is no build to report.
	var noBoot []writer.Record
	for _, r := range scenarioRecords(t, "grace-period-expired-2019", nil) {
		if r.EventID != 6009 {
			noBoot = append(noBoot, r)
		}
	}
	fs, _ = scan(t, set, Options{}, writeEVTX(t, filepath.Join(dir, "noboot.evtx"), noBoot))
	for _, f := range fs {
		if _, ok := f.Facts["os_build"]; ok {
			t.Errorf("%s has os_build %v without any 6009", f.ID, f.Facts["os_build"])
		}
	}
}

func shifted(recs []writer.Record, d time.Duration) []writer.Record {
	out := make([]writer.Record, len(recs))
	for i, r := range recs {
		r.TimeCreated = r.TimeCreated.Add(d)
		out[i] = r
	}
	return out
}
