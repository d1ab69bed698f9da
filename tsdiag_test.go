package tsdiag_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// caseDir writes a scenario as RDSH01/System.evtx (the project's encoder)
// and, when mode is set, RDSH01/licensing.reg with that LicensingMode.
func caseDir(t *testing.T, id string, mode string) string {
	t.Helper()
	sc, err := scenario.LoadFile(scenario.Builtin, id+".toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	host := filepath.Join(dir, "RDSH01")
	os.MkdirAll(host, 0o755)
	os.WriteFile(filepath.Join(host, "System.evtx"), scenarioEVTX(t, sc), 0o644)
	if mode != "" {
		reg := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n\"LicensingMode\"=dword:0000000" + mode + "\r\n"
		os.WriteFile(filepath.Join(host, "licensing.reg"), []byte(reg), 0o644)
	}
	return dir
}

func ids(items []tsdiag.Item) string {
	var out []string
	for _, it := range items {
		out = append(out, it.ID)
	}
	return strings.Join(out, ",")
}

// A stream fed the events of a folder, with the folder's registry exports,
// reaches Scan's findings: the same pipeline, the same registry handling
// (the export tied to RDSH01 by its folder).
func TestStreamReachesScansFindings(t *testing.T) {
	dir := caseDir(t, "grace-period-expired-2019", "5")
	d, err := tsdiag.New(tsdiag.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Scan(context.Background(), tsdiag.Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stream(tsdiag.StreamOptions{RegFiles: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Config()["RDSH01"]; !ok || len(st.Config()) != 1 {
		t.Fatalf("stream config %v", st.Config())
	}
	if _, err := source.Walk([]string{dir}, source.Options{Filter: st.Filter()}, func(ev *evtx.Event) error { return st.Feed(ev) }); err != nil {
		t.Fatal(err)
	}
	got, want := ids(st.Snapshot(time.Time{})), ids(rep.Findings)
	if got != want || !strings.Contains(want, "licensing-mode-not-configured") {
		t.Fatalf("stream %s, scan %s", got, want)
	}
	// Without the export neither sees the registry-based diagnosis.
	bare, _ := d.Stream(tsdiag.StreamOptions{})
	source.Walk([]string{dir}, source.Options{Filter: bare.Filter()}, func(ev *evtx.Event) error { return bare.Feed(ev) })
	if strings.Contains(ids(bare.Snapshot(time.Time{})), "licensing-mode-not-configured") {
		t.Fatal("licensing-mode-not-configured without an export")
	}
}

func TestVerdictCodes(t *testing.T) {
	broken := caseDir(t, "grace-period-expired-2019", "")
	healthy := caseDir(t, "healthy-2019-rdsh", "")
	for _, c := range []struct {
		cfg    tsdiag.Config
		inputs []tsdiag.Input
		code   int
	}{
		{tsdiag.Config{}, tsdiag.Paths(broken), tsdiag.ExitFindings},
		{tsdiag.Config{FailOn: "none"}, tsdiag.Paths(broken), tsdiag.ExitOK},
		{tsdiag.Config{}, tsdiag.Paths(healthy), tsdiag.ExitOK},
		{tsdiag.Config{}, tsdiag.Paths(healthy, filepath.Join(healthy, "missing.evtx")), tsdiag.ExitError},
		{tsdiag.Config{KeepGoing: true}, tsdiag.Paths(healthy, filepath.Join(healthy, "missing.evtx")), tsdiag.ExitOK},
		// Thirty days before 2030 holds nothing of a 2024 log: not a pass.
		{tsdiag.Config{SinceAgo: 30 * 24 * time.Hour, Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, tsdiag.Paths(healthy), tsdiag.ExitError},
	} {
		d, err := tsdiag.New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := d.Scan(context.Background(), c.inputs...)
		if err != nil {
			t.Fatal(err)
		}
		if v := d.Verdict(rep); v.Code != c.code {
			t.Errorf("%+v on %d inputs: code %d (%s), want %d", c.cfg, len(c.inputs), v.Code, v.Reason, c.code)
		}
	}
}

func TestScanRefusals(t *testing.T) {
	d, err := tsdiag.New(tsdiag.Config{SinceAgo: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Scan(context.Background(), tsdiag.Reader("upload", strings.NewReader(""))); err == nil || !strings.Contains(err.Error(), "--now") {
		t.Fatalf("relative since on a reader: %v", err)
	}
	if _, err := d.Stream(tsdiag.StreamOptions{}); err == nil {
		t.Fatal("a stream took a relative since")
	}
	d, _ = tsdiag.New(tsdiag.Config{})
	if _, err := d.Scan(context.Background(), tsdiag.Reader("a", strings.NewReader("")), tsdiag.Reader("b", strings.NewReader(""))); err == nil {
		t.Fatal("two readers")
	}
	if _, err := tsdiag.New(tsdiag.Config{FailOn: "urgent"}); err == nil {
		t.Fatal("bad FailOn")
	}
	if _, err := d.Stream(tsdiag.StreamOptions{RegFiles: []string{"tsdiag.go"}}); err == nil || !strings.Contains(err.Error(), "not a registry export") {
		t.Fatalf("a Go file as a registry export: %v", err)
	}
}
