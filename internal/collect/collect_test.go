package collect

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
	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// replayHost answers collect's commands from recorded outputs: channel
// configuration XML from wevtutil gl, .evtx written by the project's
// encoder, reg export files, PowerShell's JSON. Missing entries fail the
// way the tools fail (recorded messages, exit status 1).
type replayHost struct {
	name     string
	admin    bool
	channels map[string][]byte // channel → evtx bytes; absent = no such channel
	regs     map[string]string // key → testdata file; absent = key not found
	wmi      string            // testdata file; "" = PowerShell fails
	denied   map[string]bool   // channels whose export is refused
	calls    []string
}

var errExit1 = errors.New("exit status 1")

func (h *replayHost) Name() string   { return h.name }
func (h *replayHost) Elevated() bool { return h.admin }
func (h *replayHost) RCMNames() ([]string, []string, error) {
	return []string{"Certificate", "X509 Certificate", "X509 Certificate ID", "X509 Certificate2"}, []string{"GracePeriod", "Licensing Core"}, nil
}

func (h *replayHost) Run(_ context.Context, prog string, args ...string) ([]byte, []byte, error) {
	h.calls = append(h.calls, prog+" "+strings.Join(args, " "))
	switch {
	case prog == "wevtutil" && args[0] == "gl":
		if _, ok := h.channels[args[1]]; !ok {
			// Wording as wevtutil prints ERROR_EVT_CHANNEL_NOT_FOUND (15007).
			return nil, []byte("Failed to read configuration for log " + args[1] + ". The specified channel could not be found.\r\n"), errExit1
		}
		x, err := os.ReadFile("testdata/wevtutil-gl-system.xml")
		return bytes.Replace(x, []byte(`name="System"`), []byte(`name="`+args[1]+`"`), 1), nil, err
	case prog == "wevtutil" && args[0] == "epl":
		if h.denied[args[1]] {
			return nil, []byte("Failed to export log " + args[1] + ". Access is denied.\r\n"), errExit1
		}
		return nil, nil, os.WriteFile(args[2], h.channels[args[1]], 0o600)
	case prog == "reg" && args[0] == "export":
		f, ok := h.regs[args[1]]
		if !ok {
			return nil, []byte("ERROR: The system was unable to find the specified registry key or value.\r\n"), errExit1
		}
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			return nil, nil, err
		}
		return []byte("The operation completed successfully.\r\n"), nil, os.WriteFile(args[2], b, 0o600)
	case prog == "powershell.exe":
		if h.wmi == "" {
			return nil, []byte("powershell.exe: not found"), errExit1
		}
		b, err := os.ReadFile(filepath.Join("testdata", h.wmi))
		return b, nil, err
	}
	return nil, nil, fmt.Errorf("unexpected command %s %v", prog, args)
}

const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

// systemLog is a System log with licensing events and noise: LS01
// unreachable (1131) twice among service and kernel events.
func systemLog(t *testing.T) []byte {
	t.Helper()
	at := time.Date(2024, 3, 20, 8, 0, 0, 0, time.UTC)
	ev := func(provider string, id uint16, level uint8, at time.Time, p writer.Payload) writer.Record {
		return writer.Record{Provider: provider, EventID: id, Level: level, TimeCreated: at, Computer: "RDSH01.contoso.local", Channel: "System", Payload: p}
	}
	recs := []writer.Record{
		ev("Microsoft-Windows-Kernel-General", 12, 4, at.Add(-time.Hour), writer.Payload{}),
		ev(rcm, 1131, 3, at, writer.EventXML(writer.String("LS01"))),
		ev("Service Control Manager", 7036, 4, at.Add(time.Minute), writer.ClassicData("Windows Update", "running")),
		ev(rcm, 1131, 3, at.Add(26*time.Hour), writer.EventXML(writer.String("LS01"))),
	}
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

func sessionHost(t *testing.T, admin bool) *replayHost {
	return &replayHost{
		name: "RDSH01.contoso.local", admin: admin,
		channels: map[string][]byte{
			"System": systemLog(t),
			"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin":       emptyLog(t),
			"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational": emptyLog(t),
			"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational":     emptyLog(t),
		},
		regs: map[string]string{
			RegKeys[0].Key: "licensing-core.reg",
			RegKeys[1].Key: "license-servers.reg",
		},
		wmi: "wmi-rdsh01.json",
	}
}

func emptyLog(t *testing.T) []byte {
	var buf bytes.Buffer
	w := writer.New(&buf)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var now = time.Date(2024, 3, 21, 12, 0, 0, 0, time.UTC)

func TestCollectSessionHostBundle(t *testing.T) {
	h := sessionHost(t, true)
	res, err := Collect(context.Background(), h, Options{Since: 30 * 24 * time.Hour, Now: now, Tool: "test", WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	if err := res.WriteZip(&zbuf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	files := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	sort.Strings(names)
	want := []string{
		"RDSH01/LocalSessionManager-Operational.evtx", "RDSH01/RemoteConnectionManager-Admin.evtx",
		"RDSH01/RemoteConnectionManager-Operational.evtx", "RDSH01/System.evtx",
		"RDSH01/license-servers.reg", "RDSH01/licensing-core.reg", "RDSH01/licensing-state.json", "RDSH01/manifest.json",
	}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Fatalf("bundle holds\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	if !bytes.Equal(files["RDSH01/System.evtx"], h.channels["System"]) {
		t.Error("System.evtx is not what wevtutil exported")
	}

	// The export asked for the last 30 days, in milliseconds.
	if !containsCall(h.calls, "wevtutil epl System ") || !containsCall(h.calls, "/q:*[System[TimeCreated[timediff(@SystemTime)<=2592000000]]] /ow:true") {
		t.Errorf("wevtutil calls: %q", h.calls)
	}
	if containsCall(h.calls, "reg export HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM ") {
		t.Error("RCM exported whole: its certificate values would be in the bundle")
	}

	var m Manifest
	if err := json.Unmarshal(files["RDSH01/manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Schema != ManifestSchema || m.Host != "RDSH01.contoso.local" || m.Folder != "RDSH01" || !m.Admin || m.Since != "720h0m0s" {
		t.Errorf("manifest head: %+v", m)
	}
	byStatus := map[string][]string{}
	for _, it := range m.Items {
		byStatus[it.Status] = append(byStatus[it.Status], it.Source+": "+it.Reason)
		if it.Status == StatusCollected && it.Kind == "channel" && (it.Bytes == 0 || it.Enabled == nil || !*it.Enabled) {
			t.Errorf("%s: bytes %d enabled %v", it.Source, it.Bytes, it.Enabled)
		}
	}
	if len(byStatus[StatusCollected]) != 8 || len(byStatus[StatusFailed]) != 0 {
		t.Errorf("items: %q", byStatus)
	}
	left := strings.Join(byStatus[StatusLeftOut], "\n")
	for _, w := range []string{"TerminalServices-Licensing/Admin: absent: Failed to read configuration", "TerminalServices-Licensing/Operational: absent:",
		`Windows NT\Terminal Services: absent: ERROR: The system was unable to find`} {
		if !strings.Contains(left, w) {
			t.Errorf("left out:\n%s\nlacks %q", left, w)
		}
	}
	if len(m.Never) == 0 || !strings.Contains(m.Never[0], "value names only") {
		t.Errorf("never: %q", m.Never)
	}

	// The state file parses back into the facts rules read, and holds no
	// certificate data: names only.
	st, err := regcfg.ParseState(bytes.NewReader(files["RDSH01/licensing-state.json"]), "licensing-state.json")
	if err != nil {
		t.Fatal(err)
	}
	var cfg regcfg.Config
	cfg.ApplyState(st, "licensing-state.json")
	flat := cfg.Flat()
	for k, v := range map[string]string{"grace_days_left": "12", "ls_unreachable": "LS01.contoso.local", "ls_status": "LS01.contoso.local=6",
		"wmi_licensing_name": "Per User", "wmi_mode_policy": "group-policy", "license_servers": "LS01.contoso.local",
		"grace_period_key": "true", "rcm_certificate_values": "Certificate,X509 Certificate,X509 Certificate ID,X509 Certificate2"} {
		if flat[k] != v {
			t.Errorf("fact %s = %q, want %q", k, flat[k], v)
		}
	}
	if _, ok := flat["ls_reachable"]; ok {
		t.Errorf("ls_reachable = %q for a server that is not connectable", flat["ls_reachable"])
	}
	if len(st.Notes) != 1 || !strings.HasPrefix(st.Notes[0], `Win32_TSLicenseServer: Invalid class "Win32_TSLicenseServer"`) || strings.Contains(st.Notes[0], "At line") {
		t.Errorf("notes: %q", st.Notes)
	}

	var sum bytes.Buffer
	res.WriteSummary(&sum, "bundle.zip")
	for _, w := range []string{"licensing mode: Per User (set by group policy)", "license servers: LS01.contoso.local (set by group policy)",
		"grace period: 12 days left", "LS01.contoso.local: NOT reachable (LS_NOT_CONNECTABLE, 6)", "8 of 11 items collected",
		"not collected: channel Microsoft-Windows-TerminalServices-Licensing/Admin: left-out (absent:"} {
		if !strings.Contains(sum.String(), w) {
			t.Errorf("summary lacks %q:\n%s", w, sum.String())
		}
	}
}

// Without admin rights the exports that are refused are left out, named
// as such, and the rest is collected.
func TestCollectNotAdmin(t *testing.T) {
	h := sessionHost(t, false)
	h.denied = map[string]bool{"System": true}
	h.wmi = ""
	res, err := Collect(context.Background(), h, Options{Now: now, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Item{}
	for _, it := range res.Manifest.Items {
		got[it.Source] = it
	}
	if it := got["System"]; it.Status != StatusLeftOut || !strings.HasPrefix(it.Reason, "not admin: Failed to export log System. Access is denied.") {
		t.Errorf("System: %+v", it)
	}
	if it := got["WMI (PowerShell Get-CimInstance / Invoke-CimMethod)"]; it.Status != StatusLeftOut || !strings.Contains(it.Reason, "not admin") {
		t.Errorf("state: %+v", it)
	}
	if containsCall(h.calls, "/q:") {
		t.Error("no --since: the whole log is exported, without a query")
	}
	for _, f := range res.Files {
		if f == "System.evtx" {
			t.Error("a refused export is listed in the bundle")
		}
	}
	if res.State == nil || len(res.State.RCMValueNames) != 4 || res.State.SessionHost != nil {
		t.Errorf("state without WMI: %+v", res.State)
	}
	var sum bytes.Buffer
	res.WriteSummary(&sum, "b.zip")
	if !strings.Contains(sum.String(), "administrator: no") || !strings.Contains(sum.String(), "not collected: channel System: left-out (not admin") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func TestParseWMILicenseServer(t *testing.T) {
	b, err := os.ReadFile("testdata/wmi-ls01.json")
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseWMI(b, "LS01", now)
	if err != nil {
		t.Fatal(err)
	}
	if st.SessionHost != nil || st.LicenseServer == nil || *st.LicenseServer.ActivationStatus != 1 || len(st.LicenseServer.KeyPacks) != 2 {
		t.Fatalf("state: %+v", st)
	}
	if st.OS == nil || st.OS.Build != "14393" {
		t.Errorf("os: %+v", st.OS)
	}
	var cfg regcfg.Config
	cfg.ApplyState(st, "x")
	f := cfg.Flat()
	// The temporary key pack (type 4, 4294967295 "total") is not a bought CAL.
	if f["ls_activation"] != "not-activated" || f["cal_total"] != "50" || f["cal_available"] != "0" || f["cal_issued"] != "50" {
		t.Errorf("flat: %v", f)
	}
}

func TestParseWMIShapes(t *testing.T) {
	for _, tc := range []struct {
		name, in, err string
		servers       int
	}{
		{"list of two", `{"TerminalServiceSetting":{"LicensingName":"Per Device"},"SpecifiedLicenseServerList":{"ReturnValue":0,"SpecifiedLSList":["A","B"]},"Connectivity":[{"ServerName":"A","ReturnValue":0,"TStoLSConnectivityStatus":11},{"ServerName":"B","ReturnValue":0,"TStoLSConnectivityStatus":6}]}`, "", 2},
		{"null list", `{"TerminalServiceSetting":{},"SpecifiedLicenseServerList":{"ReturnValue":0,"SpecifiedLSList":null},"Connectivity":null}`, "", 0},
		{"failed call", `{"TerminalServiceSetting":{},"Connectivity":{"ServerName":"A","Error":"RPC server unavailable\r\nAt line:1"}}`, "", 0},
		{"BOM and CRLF", "\ufeff{\"TerminalServiceSetting\":{}}\r\n", "", 0},
		{"not JSON", "Get-CimInstance : Access denied", "wmi-raw.json: PowerShell output is not the expected JSON", 0},
		{"wrong type", `{"GracePeriodDays":{"DaysLeft":"twelve"}}`, "wmi-raw.json: PowerShell output is not the expected JSON", 0},
	} {
		st, err := ParseWMI([]byte(tc.in), "H", now)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if st.SessionHost == nil || len(st.SessionHost.Servers) != tc.servers {
			t.Errorf("%s: %+v", tc.name, st.SessionHost)
		}
	}
	if _, err := ParseWMI(bytes.Repeat([]byte(" "), maxWMIOutput+1), "H", now); err == nil {
		t.Error("oversized output accepted")
	}
}

func TestParseChannelInfo(t *testing.T) {
	b, err := os.ReadFile("testdata/wevtutil-gl-system.xml")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := ParseChannelInfo(b)
	if err != nil || ci.Name != "System" || ci.Enabled == nil || !*ci.Enabled || ci.MaxSize != 20971520 {
		t.Fatalf("%+v %v", ci, err)
	}
	if _, err := ParseChannelInfo([]byte("<Events/>")); err == nil {
		t.Error("non-channel XML accepted")
	}
}

func TestExportQuery(t *testing.T) {
	if q := ExportQuery(0); q != "" {
		t.Errorf("no since: %q", q)
	}
	if q := ExportQuery(36 * time.Hour); q != "*[System[TimeCreated[timediff(@SystemTime)<=129600000]]]" {
		t.Errorf("36h: %q", q)
	}
	if a := StateArgs(); a[2] != "-EncodedCommand" || len(a) != 4 {
		t.Errorf("powershell args: %q", a)
	}
}

func containsCall(calls []string, s string) bool {
	for _, c := range calls {
		if strings.Contains(c, s) {
			return true
		}
	}
	return false
}

type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitCode) ExitCode() int { return int(e) }

// Windows prints its messages in the server's language: the exit code
// still says what happened, and an unknown message is quoted, not guessed.
func TestFailureReasonLocalized(t *testing.T) {
	for _, tc := range []struct {
		stderr       string
		err          error
		admin        bool
		status, want string
	}{
		{"Fehler beim Lesen der Konfiguration. Der angegebene Kanal wurde nicht gefunden.", exitCode(15007), true, StatusLeftOut, "absent: Fehler"},
		{"Zugriff verweigert.", exitCode(5), false, StatusLeftOut, "not admin: Zugriff verweigert."},
		{"Zugriff verweigert.", exitCode(5), true, StatusFailed, "access denied: Zugriff verweigert."},
		{"Unbekannter Fehler.", exitCode(1), true, StatusFailed, "Unbekannter Fehler."},
		{"", errors.New("exec: not found"), true, StatusFailed, "exec: not found"},
	} {
		status, reason := failureReason([]byte(tc.stderr), nil, tc.err, tc.admin)
		if status != tc.status || !strings.HasPrefix(reason, tc.want) {
			t.Errorf("%q %v: %s %q, want %s %q", tc.stderr, tc.err, status, reason, tc.status, tc.want)
		}
	}
}
