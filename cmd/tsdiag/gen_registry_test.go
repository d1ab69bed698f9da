package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// gen of a configuration scenario writes its registry export beside the
// log; scanning the folder finds the diagnosis, the log alone does not.
func TestGenWritesRegistryExport(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "System.evtx")
	code, _, stderr := genCLI(t, "gen", "licensing-policy-overrides-local-2019", "-o", log)
	if code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	reg := filepath.Join(dir, "RDSH01-licensing.reg")
	data, err := os.ReadFile(reg)
	if err != nil || !strings.Contains(stderr, reg) {
		t.Fatalf("no export %s (%v): %s", reg, err, stderr)
	}
	if data[0] != 0xff || data[1] != 0xfe {
		t.Errorf("export starts % x, want the UTF-16LE byte-order mark reg export writes", data[:2])
	}
	_, out, _ := scanCLI(t, "", "scan", "--fail-on", "none", dir)
	if !strings.Contains(out, "licensing-policy-overrides-local") {
		t.Errorf("scan of the folder:\n%s", out)
	}
	_, out, _ = scanCLI(t, "", "scan", "--fail-on", "none", log)
	if strings.Contains(out, "licensing-policy-overrides-local") {
		t.Errorf("scan of the log alone found the registry diagnosis:\n%s", out)
	}
}
