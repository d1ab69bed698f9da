package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// bundle writes a scenario as RDSH01/System.evtx under a fresh folder,
// with the project's encoder.
func bundle(t *testing.T, id string) string {
	t.Helper()
	sc, err := scenario.LoadFile(scenario.Builtin, id+".toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "RDSH01"), 0o755)
	f, err := os.Create(filepath.Join(dir, "RDSH01", "System.evtx"))
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
	return dir
}

// The example is built and run as a CI job would run it: SARIF on stdout,
// exit 1 on a broken case, 0 on a healthy one, 2 on an unusable input.
func TestEmbedGate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "embed")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runGate := func(args ...string) (int, []byte, string) {
		var out, errb bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.Bytes(), errb.String()
	}
	code, out, stderr := runGate(bundle(t, "grace-period-expired-2019"))
	var sarif struct {
		Version string
		Runs    []struct{ Results []struct{ RuleID string } }
	}
	if err := json.Unmarshal(out, &sarif); err != nil {
		t.Fatalf("stdout is not SARIF: %v\n%.500s", err, out)
	}
	if code != 1 || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) == 0 ||
		!strings.Contains(stderr, "at or above --fail-on medium") {
		t.Fatalf("broken case: exit %d, %d results, stderr %s", code, len(sarif.Runs[0].Results), stderr)
	}
	if code, _, stderr := runGate(bundle(t, "healthy-2019-rdsh")); code != 0 {
		t.Fatalf("healthy case: exit %d, stderr %s", code, stderr)
	}
	if code, _, stderr := runGate(filepath.Join(t.TempDir(), "missing")); code != 2 || !strings.Contains(stderr, "missing") {
		t.Fatalf("missing folder: exit %d, stderr %s", code, stderr)
	}
}
