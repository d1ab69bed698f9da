package kb

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
	"github.com/tsdiag/tsdiag/rules"
)

// Every scenario `tsdiag gen` makes, as real EVTX bytes: generate, write
// with the project's encoder, decode, run the built-in pack; its diagnosis
// must rank first with the expected group and facts, and healthy servers
// must yield nothing above info.
func TestGeneratedScenariosDiagnosedFirst(t *testing.T) {
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no scenarios embedded")
	}
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	b := load(t)
	dir := t.TempDir()
	for _, sc := range all {
		t.Run(sc.ID, func(t *testing.T) {
			if sc.Configured() {
				t.Skip("diagnosed from its registry export: the root package's TestRegistryScenarios scans it with the .reg files")
			}
			path := filepath.Join(dir, sc.ID+".evtx")
			recs := sc.Generate(1, scenario.DefaultStart, 0)
			writeRecords(t, path, recs)
			fs, st := scanFiles(t, set, path)
			if st.Records != len(recs) || st.DamagedRecords != 0 {
				t.Errorf("decoded %d records (%d damaged), wrote %d", st.Records, st.DamagedRecords, len(recs))
			}
			want := scenarioExpect{name: sc.ID, diagnosis: sc.Expect.Diagnosis, group: sc.Expect.Group, facts: sc.Expect.Facts}
			if want.diagnosis == "none" {
				want.diagnosis = ""
			}
			checkScenario(t, b, want, fs)
		})
	}
}

func writeRecords(t *testing.T, path string, recs []writer.Record) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
