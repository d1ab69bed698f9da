package tsdiag_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// Scenarios whose diagnosis shows only in the configuration (a quiet log
// and a bundle's registry export) are scanned as a bundle folder holds them:
// System.evtx beside RDSH01-licensing.reg, both written by the project (the
// EVTX encoder; the .reg as `reg export` writes it, UTF-16LE). The expected
// diagnosis ranks first with its host; the healthy one gives nothing above
// info; and without the export the same log gives none of it (the registry
// is what found it).
func TestRegistryScenarios(t *testing.T) {
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tsdiag.New(tsdiag.Config{FailOn: "none"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sc := range all {
		if !sc.Configured() {
			continue
		}
		n++
		t.Run(sc.ID, func(t *testing.T) {
			dir := bundleDir(t, sc, true)
			rep, err := d.Scan(context.Background(), tsdiag.Path(dir))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rep.Config["RDSH01"]; !ok || len(rep.Stats.Unreadable) > 0 {
				t.Fatalf("the export was not read as RDSH01's: config %v, unreadable %v", rep.Config, rep.Stats.Unreadable)
			}
			if sc.Expect.Diagnosis == "none" {
				for _, f := range rep.Findings {
					if f.Severity != "info" {
						t.Errorf("healthy configuration: %s %s on %s", f.Severity, f.ID, f.Host)
					}
				}
				return
			}
			if len(rep.Findings) == 0 || rep.Findings[0].ID != sc.Expect.Diagnosis {
				t.Fatalf("findings %s, want %s first", ids(rep.Findings), sc.Expect.Diagnosis)
			}
			if h := sc.Expect.Group["host"]; h != "" && !strings.EqualFold(rep.Findings[0].Host, h) {
				t.Errorf("host %q, want %s", rep.Findings[0].Host, h)
			}
			bare, err := d.Scan(context.Background(), tsdiag.Path(bundleDir(t, sc, false)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(ids(bare.Findings), sc.Expect.Diagnosis) {
				t.Errorf("without the registry export: %s", ids(bare.Findings))
			}
		})
	}
	if n < 5 {
		t.Errorf("%d registry scenarios, want at least 5", n)
	}
}

func bundleDir(t *testing.T, sc scenario.Scenario, withReg bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "System.evtx"), scenarioEVTX(t, sc), 0o644); err != nil {
		t.Fatal(err)
	}
	if withReg {
		for _, f := range sc.RegistryFiles() {
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		states, err := sc.StateFiles(scenario.DefaultStart)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range states {
			if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// scenarioEVTX is a scenario's log as the project's encoder writes it.
func scenarioEVTX(t *testing.T, sc scenario.Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := writer.New(&buf)
	for _, r := range sc.Generate(1, scenario.DefaultStart, 0) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
