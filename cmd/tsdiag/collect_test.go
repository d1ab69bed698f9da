package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// recordedDir is the collect package's recorded command outputs, as an
// absolute path (the tests change directory).
func recordedDir(t *testing.T) string {
	d, err := filepath.Abs("../../internal/collect/testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// replayHost answers collect's commands from recorded outputs, the way
// wevtutil, reg and PowerShell answered on a session host: the Licensing
// channels and the policy key do not exist there.
type replayHost struct {
	name          string
	system, empty []byte
	wmi, recorded string
}

func (h *replayHost) Name() string   { return h.name }
func (h *replayHost) Elevated() bool { return true }
func (h *replayHost) RCMNames() ([]string, []string, error) {
	return []string{"Certificate", "X509 Certificate", "X509 Certificate2", "X509 Certificate ID"}, []string{"GracePeriod", "Licensing Core"}, nil
}

func (h *replayHost) Run(_ context.Context, prog string, args ...string) ([]byte, []byte, error) {
	fail := errors.New("exit status 1")
	switch {
	case prog == "wevtutil" && args[0] == "gl":
		if strings.Contains(args[1], "Licensing/") {
			return nil, []byte("Failed to read configuration for log " + args[1] + ". The specified channel could not be found."), fail
		}
		b, err := os.ReadFile(filepath.Join(h.recorded, "wevtutil-gl-system.xml"))
		return b, nil, err
	case prog == "wevtutil" && args[0] == "epl":
		log := h.system
		if args[1] != "System" {
			log = h.empty
		}
		return nil, nil, os.WriteFile(args[2], log, 0o600)
	case prog == "reg":
		f := map[string]string{"Licensing Core": "licensing-core.reg", "LicenseServers": "license-servers.reg"}[filepath.Base(strings.ReplaceAll(args[1], `\`, "/"))]
		if f == "" {
			return nil, []byte("ERROR: The system was unable to find the specified registry key or value."), fail
		}
		b, err := os.ReadFile(filepath.Join(h.recorded, f))
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, os.WriteFile(args[2], b, 0o600)
	case prog == "powershell.exe":
		b, err := os.ReadFile(filepath.Join(h.recorded, h.wmi))
		return b, nil, err
	}
	return nil, nil, fmt.Errorf("unexpected %s %v", prog, args)
}

// rdsh01Log is RDSH01's System log: LS01 unreachable on two days among
// unrelated events, the same 1131 logged twice, no grace countdown yet.
func rdsh01Log(t *testing.T) []byte {
	at := time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)
	ev := func(provider string, id uint16, level uint8, when time.Time, p writer.Payload) writer.Record {
		return writer.Record{Provider: provider, EventID: id, Level: level, TimeCreated: when, Channel: "System", Computer: "RDSH01.contoso.local", Payload: p}
	}
	down := writer.EventXML(writer.String("LS01"))
	return evtxOf(t,
		ev("Service Control Manager", 7036, 4, at.Add(-time.Hour), writer.ClassicData("Windows Update", "running")),
		ev(cfgRCM, 1131, 3, at, down),
		ev(cfgRCM, 1131, 3, at, down),
		ev("Microsoft-Windows-Kernel-General", 12, 4, at.Add(2*time.Hour), writer.Payload{}),
		ev(cfgRCM, 1131, 3, at.Add(27*time.Hour), down),
	)
}

type scanFinding struct {
	ID, Rule, Key, Severity, Status, Host string
	CausedBy                              string `json:"caused_by"`
	Count                                 int
	Facts                                 map[string]any
}

func scanFindings(t *testing.T, path string) ([]scanFinding, map[string]json.RawMessage, string) {
	t.Helper()
	code, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "--now", "2024-03-21T12:00:00Z", path)
	if code != 0 {
		t.Fatalf("scan %s: exit %d: %s", path, code, stderr)
	}
	var rep struct {
		Findings []scanFinding
		Config   map[string]json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Findings, rep.Config, out
}

// A bundle in the collect layout, made by collect from recorded outputs,
// scans to the findings of its events alone plus those of the live state:
// grace days from WMI with no countdown event in the log, and the
// configured server reported unreachable by GetTStoLSConnectivityStatus.
func TestCollectBundleScansLikeItsEventsPlusState(t *testing.T) {
	rec := recordedDir(t)
	t.Chdir(t.TempDir())
	log := rdsh01Log(t)
	writeFixtureFile(t, "events.zip", string(zipOf(t, map[string][]byte{"RDSH01/System.evtx": log})))

	var summary bytes.Buffer
	h := &replayHost{name: "RDSH01.contoso.local", system: log, empty: evtxOf(t), wmi: "wmi-rdsh01.json", recorded: rec}
	now := time.Date(2024, 3, 21, 12, 0, 0, 0, time.UTC)
	if err := collectTo(context.Background(), h, "bundle.zip", 30*24*time.Hour, now, &summary); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Collected RDSH01.contoso.local into bundle.zip (last 720h0m0s; administrator: yes)",
		"grace period: 12 days left", "LS01.contoso.local: NOT reachable (LS_NOT_CONNECTABLE, 6)", "licensing mode: Per User (set by group policy)",
		"not collected: channel Microsoft-Windows-TerminalServices-Licensing/Admin: left-out (absent", "Next: tsdiag scan bundle.zip"} {
		if !strings.Contains(summary.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, summary.String())
		}
	}
	if left, _ := filepath.Glob(".tsdiag-collect-*"); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	alone, _, _ := scanFindings(t, "events.zip")
	both, cfg, raw := scanFindings(t, "bundle.zip")
	if len(alone) == 0 {
		t.Fatal("the events alone gave no finding: the test proves nothing")
	}
	byKey := map[string]scanFinding{}
	for _, f := range both {
		byKey[f.Key] = f
	}
	for _, a := range alone {
		b, ok := byKey[a.Key]
		if !ok {
			t.Errorf("%s (from the events) is missing from the bundle's scan", a.Key)
			continue
		}
		if a.Rule != b.Rule || a.Count != b.Count || a.Status != b.Status {
			t.Errorf("%s: events alone %s/%d/%s, bundle %s/%d/%s", a.Key, a.Rule, a.Count, a.Status, b.Rule, b.Count, b.Status)
		}
		delete(byKey, a.Key)
	}
	var extra []string
	for k, f := range byKey {
		extra = append(extra, k+" "+f.Rule)
	}
	sort.Strings(extra)
	// Only configuration findings come on top: from the state and from the
	// registry exports beside it.
	for _, e := range extra {
		if !strings.HasSuffix(e, ".state") && !strings.HasSuffix(e, ".registry") && !strings.HasSuffix(e, ".config") {
			t.Errorf("unexpected extra finding %s", e)
		}
	}
	grace, ok := byKey["grace-period-expiring@RDSH01"]
	if !ok || grace.Rule != "grace-period-expiring.state" || grace.Facts["days_left"] != 12.0 || grace.Facts["days_left_from"] != "WMI GetGracePeriodDays" ||
		grace.CausedBy != "license-server-unreachable@RDSH01/license_server=LS01" {
		t.Errorf("grace days from WMI: %+v (extra: %q)", grace, extra)
	}
	// The state's unreachable server joins the incident the events found:
	// one diagnosis, from history and from state.
	const down = "license-server-unreachable@RDSH01/license_server=LS01"
	var fromEvents, fromBoth scanFinding
	for _, f := range alone {
		if f.Key == down {
			fromEvents = f
		}
	}
	for _, f := range both {
		if f.Key == down {
			fromBoth = f
		}
	}
	if fromEvents.Key == "" || fromEvents.Facts["unreachable_servers"] != nil {
		t.Errorf("events alone: %+v", fromEvents)
	}
	if fromBoth.Facts["unreachable_servers"] != "LS01.contoso.local" || fromBoth.Facts["ls_status"] != "LS01.contoso.local=6" {
		t.Errorf("bundle: the state's reachability is not in the incident: %+v", fromBoth)
	}
	for _, e := range extra {
		if strings.HasPrefix(e, "license-server-unreachable@") {
			t.Errorf("the state's unreachable server made a second incident: %s", e)
		}
	}
	var c struct {
		GraceDaysLeft *int     `json:"grace_days_left"`
		GraceDaysFrom string   `json:"grace_days_from"`
		Mode          string   `json:"mode"`
		Sources       []string `json:"sources"`
		State         *struct {
			RCMValueNames []string `json:"rcm_value_names"`
		} `json:"state"`
	}
	if err := json.Unmarshal(cfg["RDSH01"], &c); err != nil {
		t.Fatalf("config of RDSH01: %v in %s", err, cfg["RDSH01"])
	}
	if c.GraceDaysLeft == nil || *c.GraceDaysLeft != 12 || !strings.Contains(c.GraceDaysFrom, "GetGracePeriodDays") || c.Mode != "per-user" ||
		len(c.Sources) != 3 || c.State == nil || len(c.State.RCMValueNames) != 4 {
		t.Errorf("configuration seen: %s", cfg["RDSH01"])
	}
	if grace.Facts["as_of"] != "2024-03-21T12:00:00Z" {
		t.Errorf("grace days as_of: %v", grace.Facts["as_of"])
	}
	_, text, _ := scanCLI(t, "", "scan", "--fail-on", "none", "--width", "300", "bundle.zip")
	for _, w := range []string{"grace days left 12", "license server LS01.contoso.local is LS_NOT_CONNECTABLE (6)", `WMI licensing mode "Per User" (set by group policy)`} {
		if !strings.Contains(text, w) {
			t.Errorf("text report lacks %q", w)
		}
	}
	// The manifest is set aside, not reported as an unreadable input.
	if strings.Contains(raw, "manifest.json") {
		t.Errorf("manifest.json reported by scan: %s", raw)
	}
}

// A hostile state file in a bundle is refused with its name, like a broken
// export (exit 2); with --keep-going the events are still diagnosed.
func TestScanBundleBadStateFile(t *testing.T) {
	t.Chdir(t.TempDir())
	writeFixtureFile(t, "b.zip", string(zipOf(t, map[string][]byte{
		"RDSH01/System.evtx":          rdsh01Log(t),
		"RDSH01/licensing-state.json": []byte(`{"schema": "tsdiag-licensing-state/1", "session_host": {"grace_days_left": -5}}`),
	})))
	code, _, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "b.zip")
	if code != 2 || !strings.Contains(stderr, "b.zip!RDSH01/licensing-state.json: grace_days_left -5 is not a day count") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	code, out, stderr := scanCLI(t, "", "scan", "--keep-going", "--format", "json", "--fail-on", "none", "b.zip")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "b.zip!RDSH01/licensing-state.json") || !strings.Contains(out, "grace_days_left -5 is not a day count") {
		t.Errorf("bad state file not named:\n%s", out)
	}
	if !strings.Contains(out, `"license-server-unreachable@RDSH01/license_server=LS01"`) {
		t.Errorf("events not diagnosed beside a bad state file:\n%s", out)
	}
}

func zipOf(t *testing.T, files map[string][]byte) []byte {
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

// A workgroup session host in per-user mode (not permitted): collect reads
// Win32_ComputerSystem.PartOfDomain into the state file, and scanning the
// bundle finds per-user-mode-on-workgroup, which no event and no .reg
// export can show. Trap: the same host joined to a domain gives none.
func TestCollectedWorkgroupHostInPerUserMode(t *testing.T) {
	rec := recordedDir(t)
	wmi, err := os.ReadFile(filepath.Join(rec, "wmi-rdsh01.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	for _, c := range []struct {
		joined string
		want   bool
	}{{"false", true}, {"true", false}} {
		dir, _ := filepath.Abs("rec-" + c.joined)
		if err := os.CopyFS(dir, os.DirFS(rec)); err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(wmi), `{"OperatingSystem":`, `{"ComputerSystem":{"PartOfDomain":`+c.joined+`},"OperatingSystem":`, 1)
		if err := os.WriteFile(filepath.Join(dir, "wmi-rdsh01.json"), []byte(edited), 0o644); err != nil {
			t.Fatal(err)
		}
		h := &replayHost{name: "RDSH01.contoso.local", system: rdsh01Log(t), empty: evtxOf(t), wmi: "wmi-rdsh01.json", recorded: dir}
		bundle := "bundle-" + c.joined + ".zip"
		if err := collectTo(context.Background(), h, bundle, 30*24*time.Hour, time.Date(2024, 3, 21, 12, 0, 0, 0, time.UTC), io.Discard); err != nil {
			t.Fatal(err)
		}
		found, _, _ := scanFindings(t, bundle)
		got := false
		for _, f := range found {
			got = got || strings.HasPrefix(f.Key, "per-user-mode-on-workgroup@")
		}
		if got != c.want {
			t.Errorf("PartOfDomain %s: per-user-mode-on-workgroup found %v, want %v", c.joined, got, c.want)
		}
	}
}
