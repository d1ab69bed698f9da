package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// scenarioLog writes a built-in scenario with the project's encoder and
// returns its bytes.
func scenarioLog(t *testing.T, id string) []byte {
	t.Helper()
	s, err := findScenario(id)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".evtx")
	if _, err := writeScenario(s, path, 1, scenario.DefaultStart, 0); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func zipBytes(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[name])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The duration is the one wall-clock measurement in a report.
var durationLine = regexp.MustCompile(`"duration_seconds": [0-9.e+-]+`)

func sameBytes(a string) string { return durationLine.ReplaceAllString(a, `"duration_seconds": 0`) }

// The CLI is flags over the API: on the same inputs (scenario logs with
// and without registry exports, folders, .tar.gz and .zip bundles, stdin,
// a relative --since) `tsdiag scan --format json` and an embedder's
// New/Scan/Write give the same bytes. The export case is #13's: RDSH01's
// System log plus RDSH01/licensing.reg with LicensingMode 5 gives three
// findings (incidents, symptoms nested), the registry-based
// licensing-mode-not-configured among them, where the log alone gives two.
func TestCLIAndAPIGiveTheSameJSON(t *testing.T) {
	log := scenarioLog(t, "grace-period-expired-2019")
	reg := licensingExport(t, 5, "")
	t.Chdir(t.TempDir())
	files := map[string][]byte{"RDSH01/System.evtx": log, "RDSH01/licensing.reg": reg}
	for name, data := range map[string][]byte{
		"plain/System.evtx": log, "RDSH01/System.evtx": log, "RDSH01/licensing.reg": reg,
		"case.tgz": tgz(t, files), "case.zip": zipBytes(t, files),
	} {
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		flags    []string
		cfg      tsdiag.Config
		inputs   []string
		stdin    []byte
		findings int
		modeCfg  bool // licensing-mode-not-configured, from the export
	}{
		{name: "log without export", inputs: []string{"plain/System.evtx"}, findings: 2},
		{name: "folder with export", inputs: []string{"RDSH01"}, findings: 3, modeCfg: true},
		{name: "log and export as files", inputs: []string{"RDSH01/System.evtx", "RDSH01/licensing.reg"}, findings: 3, modeCfg: true},
		{name: "tar.gz bundle", inputs: []string{"case.tgz"}, findings: 3, modeCfg: true},
		{name: "zip bundle and a folder, separate", flags: []string{"--separate"}, cfg: tsdiag.Config{Separate: true},
			inputs: []string{"case.zip", "plain"}, findings: 5, modeCfg: true},
		{name: "stdin", inputs: []string{"-"}, stdin: log, findings: 2},
		// Exports on stdin come after the events: reported, not ruled on.
		{name: "bundle on stdin", inputs: []string{"-"}, stdin: tgz(t, files), findings: 2},
		{name: "since 30d from the newest event", flags: []string{"--since", "30d"}, cfg: tsdiag.Config{SinceAgo: 30 * 24 * time.Hour},
			inputs: []string{"case.tgz"}, findings: 3, modeCfg: true},
		{name: "since 3d sets events aside", flags: []string{"--since", "3d"}, cfg: tsdiag.Config{SinceAgo: 3 * 24 * time.Hour},
			inputs: []string{"RDSH01"}, findings: 3, modeCfg: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"scan", "--format", "json", "--fail-on", "none"}, c.flags...), c.inputs...)
			code, cli, stderr := scanCLI(t, string(c.stdin), args...)
			if code != exitOK {
				t.Fatalf("CLI exit %d: %s", code, stderr)
			}
			cfg := c.cfg
			cfg.FailOn = "none"
			d, err := tsdiag.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var ins []tsdiag.Input
			for _, p := range c.inputs {
				if p == "-" {
					ins = append(ins, tsdiag.Reader("-", bytes.NewReader(c.stdin)))
				} else {
					ins = append(ins, tsdiag.Path(p))
				}
			}
			rep, err := d.Scan(context.Background(), ins...)
			if err != nil {
				t.Fatal(err)
			}
			var api bytes.Buffer
			if err := tsdiag.Write(&api, rep, "json", tsdiag.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if sameBytes(cli) != sameBytes(api.String()) {
				t.Fatalf("CLI and API differ:\nCLI:\n%.3000s\nAPI:\n%.3000s", cli, api.String())
			}
			if errs, err := report.Validate("", api.Bytes()); err != nil || len(errs) > 0 {
				t.Fatalf("report does not follow the schema: %v %v", err, errs)
			}
			var out struct {
				Findings []struct{ ID string }
				Window   *struct {
					Before int `json:"set_aside_before"`
				}
			}
			if err := json.Unmarshal(api.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			mode := false
			for _, f := range out.Findings {
				mode = mode || f.ID == "licensing-mode-not-configured"
			}
			if len(out.Findings) != c.findings || mode != c.modeCfg {
				t.Fatalf("%d findings (want %d), licensing-mode-not-configured %v (want %v): %v", len(out.Findings), c.findings, mode, c.modeCfg, out.Findings)
			}
			if strings.HasSuffix(c.name, "sets events aside") && (out.Window == nil || out.Window.Before == 0) {
				t.Fatalf("window %+v", out.Window)
			}
		})
	}
}
