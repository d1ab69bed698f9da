package kb

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/rules"
)

// writeEVTX writes a timeline as a real EVTX file with the project's encoder.
func writeEVTX(t *testing.T, path string, sc timeline, s shape) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	evs := append([]ev(nil), sc.events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	w := writer.New(f)
	for _, x := range evs {
		if err := w.Write(record(x, s, base)); err != nil {
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

// scanFiles decodes paths through the same source walk and rule-derived
// filter the CLI uses and returns the engine's findings.
func scanFiles(t *testing.T, set *rules.Set, paths ...string) ([]engine.Finding, evtx.Stats) {
	t.Helper()
	en := engine.New(set, engine.Options{})
	st, err := source.Walk(paths, source.Options{Filter: set.Filter()}, en.Feed)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unreadable) > 0 {
		t.Fatalf("unreadable inputs: %+v", st.Unreadable)
	}
	return en.Finish(), st
}

// The scenarios as EVTX bytes: write, decode, diagnose.
func TestScenariosThroughEVTX(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	b := load(t)
	dir := t.TempDir()
	for i, sc := range scenarios() {
		for _, s := range sc.shapes {
			t.Run(fmt.Sprintf("%s/shape%d", sc.name, s), func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("s%02d-%d.evtx", i, s))
				writeEVTX(t, path, sc, s)
				fs, st := scanFiles(t, set, path)
				if st.Records != len(sc.events) || st.DamagedRecords != 0 {
					t.Errorf("decoded %d records (%d damaged), wrote %d", st.Records, st.DamagedRecords, len(sc.events))
				}
				checkScenario(t, b, sc.expect(), fs)
			})
		}
	}
}
