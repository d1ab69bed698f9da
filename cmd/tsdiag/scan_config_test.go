package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/report"
)

const (
	cfgRCM = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	cfgLS  = "Microsoft-Windows-TerminalServices-Licensing"
)

// regedit writes exports as UTF-16LE with a byte order mark and CRLF.
func regeditExport(t *testing.T, body string) []byte {
	t.Helper()
	s := "Windows Registry Editor Version 5.00\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func licensingExport(t *testing.T, mode uint32, servers string) []byte {
	t.Helper()
	body := "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\n" +
		"\"LicensingMode\"=dword:0000000" + string(rune('0'+mode)) + "\n\n"
	if servers != "" {
		body += "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers]\n" +
			"\"SpecifiedLicenseServers\"=hex(7):" + multiSZHex(servers) + "\n"
	}
	return regeditExport(t, body)
}

// multiSZHex is a REG_MULTI_SZ of one string as regedit's hex(7) bytes.
func multiSZHex(s string) string {
	var parts []string
	for _, u := range utf16.Encode([]rune(s)) {
		parts = append(parts, hex2(byte(u)), hex2(byte(u>>8)))
	}
	return strings.Join(append(parts, "00", "00", "00", "00"), ",")
}

func hex2(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func evtxOf(t *testing.T, recs ...writer.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := writer.New(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// configBundle is a support bundle of three servers: RDSH01 (only LS01
// specified, and LS01 unreachable on two days), RDSH02 (licensing mode
// never configured, grace period over) and an export named for a host that
// logged nothing. Every export sorts after its host's log, so only reading
// exports first lets conditions see them.
func configBundle(t *testing.T, withReg bool) []byte {
	at := time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)
	unreachable := func(d int) writer.Record {
		return writer.Record{Provider: cfgRCM, EventID: 1131, Level: 3, TimeCreated: at.AddDate(0, 0, d), Channel: "System",
			Computer: "RDSH01.contoso.local", Payload: writer.EventXML(writer.String("LS01"))}
	}
	rdsh01 := evtxOf(t, unreachable(0), unreachable(1))
	rdsh02 := evtxOf(t, writer.Record{
		Provider: cfgRCM, EventID: 50280, Level: 2, TimeCreated: at.Add(time.Hour), Channel: "System", Computer: "RDSH02.contoso.local",
		Payload: writer.EventXML(),
	})
	files := map[string][]byte{
		"RDSH01/System.evtx": rdsh01,
		"RDSH02/System.evtx": rdsh02,
		"RDSH02/notes.txt":   []byte("collected 2024-03-20"),
	}
	if withReg {
		files["RDSH01/licensing.reg"] = licensingExport(t, 4, "LS01.contoso.local")
		files["RDSH02/termservice.reg"] = licensingExport(t, 5, "")
		files["RDSH09-TermService.reg"] = licensingExport(t, 2, "")
	}
	return tgz(t, files)
}

type configReport struct {
	SchemaVersion string `json:"schema_version"`
	Config        map[string]struct {
		Mode           string   `json:"mode"`
		LicensingMode  *int     `json:"licensing_mode"`
		LicenseServers []string `json:"license_servers"`
		Sources        []string `json:"sources"`
		Notes          []string `json:"notes"`
	} `json:"config"`
	Stats struct {
		Files      int
		Skipped    []struct{ File string }
		Unreadable []struct{ File, Reason string }
	}
	Findings []struct {
		ID, Rule string
		Group    map[string]string
		Facts    map[string]any
	}
}

func TestScanReadsRegExportsFromBundle(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFixtureFile(t, "case.tgz", string(configBundle(t, true)))
	code, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "case.tgz")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SchemaVersion != report.SchemaVersion || rep.Stats.Files != 2 || len(rep.Stats.Unreadable) != 0 {
		t.Fatalf("schema %s, files %d, unreadable %v", rep.SchemaVersion, rep.Stats.Files, rep.Stats.Unreadable)
	}
	if len(rep.Stats.Skipped) != 1 || rep.Stats.Skipped[0].File != "case.tgz!RDSH02/notes.txt" {
		t.Errorf("skipped = %v, want only notes.txt (exports are read, not skipped)", rep.Stats.Skipped)
	}
	c1, c2, c9 := rep.Config["RDSH01"], rep.Config["RDSH02"], rep.Config["RDSH09"]
	if len(rep.Config) != 3 || c1.Mode != "per-user" || *c1.LicensingMode != 4 || strings.Join(c1.LicenseServers, ",") != "LS01.contoso.local" ||
		strings.Join(c1.Sources, ",") != "case.tgz!RDSH01/licensing.reg" || c2.Mode != "not-configured" || c9.Mode != "per-device" {
		t.Fatalf("config = %+v", rep.Config)
	}
	if len(c9.Notes) != 1 || !strings.Contains(c9.Notes[0], "no event was logged by a computer named RDSH09") || len(c1.Notes)+len(c2.Notes) != 0 {
		t.Errorf("notes: RDSH01 %v, RDSH02 %v, RDSH09 %v", c1.Notes, c2.Notes, c9.Notes)
	}
	byID := map[string]map[string]any{}
	for _, f := range rep.Findings {
		if f.Facts != nil {
			byID[f.ID+"@"+f.Rule] = f.Facts
		}
	}
	pin, ok := byID["license-server-pinned@license-server-pinned.registry"]
	if !ok || pin["specified_license_servers"] != "LS01.contoso.local" || pin["days_seen"] != 2.0 {
		t.Errorf("no license-server-pinned from the registry rule with RDSH01's list; findings %v", byID)
	}
	nc, ok := byID["licensing-mode-not-configured@licensing-mode-not-configured.registry"]
	if !ok || nc["licensing_mode"] != "5" {
		t.Errorf("no licensing-mode-not-configured from the registry rule for RDSH02; findings %v", byID)
	}

	// The same bundle without its exports: the registry rules stay silent
	// and the report has no config.
	code, text, _ := scanCLI(t, "", "scan", "--width", "200", "--format", "text", "--fail-on", "none", "case.tgz")
	if code != 0 || !strings.Contains(text, "Configuration seen: RDSH01: licensing mode per-user (4); license servers LS01.contoso.local [case.tgz!RDSH01/licensing.reg]\n") {
		t.Errorf("text report lacks RDSH01's configuration line:\n%s", text)
	}
}

// Without exports the registry rules say nothing, so their findings above
// come from the configuration and not from the events alone.
func TestScanWithoutRegExports(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFixtureFile(t, "case.tgz", string(configBundle(t, false)))
	_, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "case.tgz")
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if rep.Config != nil || strings.Contains(out, `"config"`) {
		t.Errorf("config without exports: %+v", rep.Config)
	}
	for _, f := range rep.Findings {
		if strings.HasSuffix(f.Rule, ".registry") {
			t.Errorf("registry rule %s fired without configuration", f.Rule)
		}
	}
}

// One export named on the command line applies to every host (its name
// need not match), and a broken export is reported with its line.
func TestScanNamedRegAndBrokenReg(t *testing.T) {
	t.Chdir(t.TempDir())
	at := time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)
	log := evtxOf(t, writer.Record{
		Provider: cfgRCM, EventID: 50280, Level: 2, TimeCreated: at, Channel: "System", Computer: "RDSH05.contoso.local",
		Payload: writer.EventXML(),
	})
	writeFixtureFile(t, "System.evtx", string(log))
	writeFixtureFile(t, "licensing.reg", string(licensingExport(t, 5, "")))
	code, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "System.evtx", "licensing.reg")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || f.Rule == "licensing-mode-not-configured.registry" && f.Group["host"] == "RDSH05.contoso.local"
	}
	if rep.Config["LICENSING"].Mode != "not-configured" || !found {
		t.Errorf("config %+v, findings %+v", rep.Config, rep.Findings)
	}

	broken := append(licensingExport(t, 4, ""), regeditExport(t, "[HKEY_LOCAL_MACHINE\\X]\n\"v\"=dword:zz\n")[2:]...)
	writeFixtureFile(t, "broken.reg", string(broken))
	code, _, stderr = scanCLI(t, "", "scan", "--format", "json", "System.evtx", "broken.reg")
	if code != exitError || !strings.Contains(stderr, "unreadable: broken.reg: line ") {
		t.Errorf("broken export: exit %d, stderr %s", code, stderr)
	}
}

// Standard input cannot be read twice: its exports reach the report with a
// note, never the rules.
func TestScanRegOnStdin(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, stderr := scanCLI(t, string(configBundle(t, true)), "scan", "--format", "json", "--fail-on", "none", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	c := rep.Config["RDSH02"]
	if c.Mode != "not-configured" || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "not seen by the rules") {
		t.Fatalf("config = %+v", rep.Config)
	}
	for _, f := range rep.Findings {
		if strings.HasSuffix(f.Rule, ".registry") {
			t.Errorf("registry rule %s fired on stdin exports", f.Rule)
		}
	}
}

// With --separate each PATH is its own case: same-named hosts in two
// bundles keep their own configuration.
func TestScanRegSeparate(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFixtureFile(t, "a.tgz", string(configBundle(t, true)))
	writeFixtureFile(t, "b.tgz", string(tgz(t, map[string][]byte{
		"RDSH02/System.evtx": evtxOf(t, writer.Record{Provider: cfgRCM, EventID: 50280, Level: 2,
			TimeCreated: time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC), Channel: "System", Computer: "RDSH02", Payload: writer.EventXML()}),
		"RDSH02/licensing.reg": licensingExport(t, 2, "LS05"),
	})))
	code, out, stderr := scanCLI(t, "", "scan", "--separate", "--format", "json", "--fail-on", "none", "a.tgz", "b.tgz")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep configReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Config["RDSH02"].Mode != "not-configured" || rep.Config["RDSH02 (b.tgz)"].Mode != "per-device" {
		t.Fatalf("config = %+v", rep.Config)
	}
	n := 0
	for _, f := range rep.Findings {
		if f.Rule == "licensing-mode-not-configured.registry" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d licensing-mode-not-configured.registry findings, want 1 (a.tgz's RDSH02 only)", n)
	}
}

// tsdiag watch gives its rules the --reg configuration too.
func TestWatchRulesSeeRegExport(t *testing.T) {
	dir := t.TempDir()
	regPath := filepath.Join(t.TempDir(), "RDSH02-licensing.reg")
	if err := os.WriteFile(regPath, licensingExport(t, 5, ""), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)
	writeInPlace(t, filepath.Join(dir, "System.evtx"), evtxOf(t, writer.Record{
		Provider: cfgRCM, EventID: 50280, Level: 2, TimeCreated: at, Channel: "System", Computer: "RDSH02", Payload: writer.EventXML(),
	}))
	for _, withReg := range []bool{true, false} {
		o := watchOptions{Path: dir, Format: "jsonl"}
		if withReg {
			o.RegFiles = []string{regPath}
		}
		r := startWatch(t, o)
		r.stop(t)
		got := strings.Contains(r.out.String(), `"rule":"licensing-mode-not-configured.registry"`)
		if got != withReg {
			t.Errorf("with --reg %v: registry rule fired %v:\n%s", withReg, got, r.out)
		}
	}
}
