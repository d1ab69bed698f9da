package regcfg

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// regedit writes UTF-16LE with a BOM and CRLF line ends.
func utf16File(text string) []byte {
	text = strings.ReplaceAll(text, "\n", "\r\n")
	u := utf16.Encode([]rune(text))
	b := []byte{0xFF, 0xFE}
	for _, c := range u {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// hexValue formats data the way regedit does: comma-separated bytes,
// lines wrapped before 80 columns with a trailing backslash and a two-space
// indent on the continuation.
func hexValue(prefix string, data []byte) string {
	var b strings.Builder
	b.WriteString(prefix)
	col := len(prefix)
	for i, x := range data {
		item := fmt.Sprintf("%02x", x)
		if i < len(data)-1 {
			item += ","
		}
		if col+len(item) > 77 && i < len(data)-1 {
			b.WriteString("\\\n  ")
			col = 2
		}
		b.WriteString(item)
		col += len(item)
	}
	return b.String()
}

func multiSZBytes(ss ...string) []byte { return MultiSZ(ss...).Data }

func exportText() string {
	return strings.Join([]string{
		"Windows Registry Editor Version 5.00",
		"",
		`[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Terminal Server\RCM\Licensing Core]`,
		`"LicensingMode"=dword:00000004`,
		`"PolicyAcOn"=dword:00000000`,
		"",
		`[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Terminal Server\RCM\GracePeriod]`,
		hexValue(`"L$RTMTIMEBOMB_1320153D-8DA3-4e8e-B27B-0D888223A588"=hex:`, bytes.Repeat([]byte{0xA5, 0x3C}, 20)),
		"",
		`[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\TermService\Parameters\LicenseServers]`,
		hexValue(`"SpecifiedLicenseServers"=hex(7):`, multiSZBytes("ls01.corp.example.com", "ls02.corp.example.com")),
		"",
		`[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\TermService\Parameters]`,
		`"DefaultLicenseServer"="OLDLS"`,
		`"ServiceDll"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,\`,
		`  74,00,25,00,00,00`,
		`"Path"="C:\\Windows\\"`,
		"",
	}, "\n")
}

func TestRegeditExportUTF16(t *testing.T) {
	raw := utf16File(exportText())
	if !IsReg(raw[:64]) {
		t.Fatal("IsReg false on a regedit export")
	}
	f, err := ParseReg(bytes.NewReader(raw), "bundle/rcm.reg")
	if err != nil {
		t.Fatal(err)
	}
	v, ok := f.Value(KeyLicenseServers, "specifiedlicenseservers")
	if !ok || v.Type != TypeMultiSZ {
		t.Fatalf("SpecifiedLicenseServers: %v %v", v, ok)
	}
	if got := v.Strings(); strings.Join(got, "|") != "ls01.corp.example.com|ls02.corp.example.com" {
		t.Fatalf("multi-sz = %q", got)
	}
	if v, _ := f.Value(KeyTermServiceParams, "ServiceDll"); v.String() != `%SystemRoot%` || v.Type != TypeExpandSZ {
		t.Fatalf("hex(2) = %q (type %d)", v.String(), v.Type)
	}
	if v, _ := f.Value(KeyTermServiceParams, "Path"); v.String() != `C:\Windows\` {
		t.Fatalf("escaped string = %q", v.String())
	}
	c := Read(f, f.Names...)
	if c.Mode != ModePerUser || c.LicensingMode == nil || *c.LicensingMode != 4 {
		t.Fatalf("mode = %q %v", c.Mode, c.LicensingMode)
	}
	if strings.Join(c.LicenseServers, ",") != "ls01.corp.example.com,ls02.corp.example.com" ||
		c.LicenseServersFrom != KeyLicenseServers+`\SpecifiedLicenseServers` {
		t.Fatalf("servers = %v from %s", c.LicenseServers, c.LicenseServersFrom)
	}
	if c.DefaultLicenseServer != "OLDLS" || !c.GracePeriodKey {
		t.Fatalf("default = %q grace key = %v", c.DefaultLicenseServer, c.GracePeriodKey)
	}
	if len(c.Notes) != 0 {
		t.Fatalf("unexpected notes %q", c.Notes)
	}
}

func TestPolicyOverridesLocal(t *testing.T) {
	text := strings.Join([]string{
		"Windows Registry Editor Version 5.00",
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core]`,
		`"LicensingMode"=dword:00000002`,
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers]`,
		hexValue(`"SpecifiedLicenseServers"=hex(7):`, multiSZBytes("old-ls")),
		`[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services]`,
		`"LicensingMode"=dword:00000004`,
		`"LicenseServers"="ls01.corp.example.com,ls02.corp.example.com"`,
	}, "\r\n")
	f, err := ParseReg(strings.NewReader(text), "policy.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f, "policy.reg")
	if c.Mode != ModePerUser || c.ModeFrom != KeyPolicy+`\LicensingMode` {
		t.Fatalf("mode %q from %q", c.Mode, c.ModeFrom)
	}
	if strings.Join(c.LicenseServers, ",") != "ls01.corp.example.com,ls02.corp.example.com" {
		t.Fatalf("servers %v", c.LicenseServers)
	}
	if len(c.Notes) != 2 || !strings.Contains(c.Notes[0], "overriding the local setting per-device (2)") ||
		!strings.Contains(c.Notes[1], "overriding old-ls") {
		t.Fatalf("notes %q", c.Notes)
	}
	// Apart, for the rule that tells an admin the policy wins.
	flat := c.Flat()
	for k, want := range map[string]string{"policy_mode": "per-user", "local_mode": "per-device",
		"policy_license_servers": "ls01.corp.example.com,ls02.corp.example.com", "local_license_servers": "old-ls"} {
		if flat[k] != want {
			t.Errorf("Flat()[%s] = %q, want %q", k, flat[k], want)
		}
	}
	if c.GracePeriodKey {
		t.Fatal("grace key reported without the key")
	}
}

func TestModeNamesAndOddTypes(t *testing.T) {
	for n, want := range map[uint32]string{2: ModePerDevice, 4: ModePerUser, 5: ModeNotConfigured, 0: ModePersonal, 1: ModeRemoteAdmin, 9: "unknown"} {
		f := NewRegFile()
		f.keys[CanonicalKey(KeyLicensingCore)] = &regKey{path: KeyLicensingCore, values: map[string]Value{"licensingmode": DWORD(n)}}
		if c := Read(f); c.Mode != want {
			t.Errorf("LicensingMode %d: %q, want %q", n, c.Mode, want)
		}
	}
	f, err := ParseReg(strings.NewReader("REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\n\"LicensingMode\"=\"4\"\n"), "v4.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f)
	if c.Mode != "" || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "REG_SZ, not REG_DWORD") {
		t.Fatalf("string mode: %q notes %q", c.Mode, c.Notes)
	}
}

func TestShortDWORD(t *testing.T) {
	f, err := ParseReg(strings.NewReader("REGEDIT4\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\n\"LicensingMode\"=hex(4):04\n"), "short.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f)
	if c.Mode != "" || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "REG_DWORD with 1 bytes") {
		t.Fatalf("mode %q notes %q", c.Mode, c.Notes)
	}
}

func TestREGEDIT4MultiSZIsANSI(t *testing.T) {
	text := "REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers]\r\n" +
		hexValue(`"SpecifiedLicenseServers"=hex(7):`, []byte("lsA\x00lsB\x00\x00")) + "\r\n"
	f, err := ParseReg(strings.NewReader(text), "old.reg")
	if err != nil {
		t.Fatal(err)
	}
	if c := Read(f); strings.Join(c.LicenseServers, ",") != "lsA,lsB" {
		t.Fatalf("servers %v", c.LicenseServers)
	}
}

func TestLicenseServerSubkeysAndDeletes(t *testing.T) {
	text := strings.Join([]string{
		"Windows Registry Editor Version 5.00",
		`[HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers\LS-EAST]`,
		`[HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers\LS-WEST]`,
		`[HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers\LS-GONE]`,
		`[-HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers\LS-GONE]`,
		`[HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters]`,
		`"DefaultLicenseServer"="X"`,
		`"DefaultLicenseServer"=-`,
	}, "\n")
	f, err := ParseReg(strings.NewReader(text), "subkeys.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f)
	if strings.Join(c.LicenseServers, ",") != "LS-EAST,LS-WEST" || c.DefaultLicenseServer != "" {
		t.Fatalf("servers %v default %q", c.LicenseServers, c.DefaultLicenseServer)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]string{
		"Windows Registry Editor Version 5.00\n[HKLM\\X]\n\"A\"=dword:zz\n":        "bad.reg:3: value \"A\": bad dword",
		"Windows Registry Editor Version 5.00\n\n\"A\"=dword:1\n":                  "bad.reg:3: value \"A\" before any [KEY] line",
		"Windows Registry Editor Version 5.00\n[HKLM\\X]\n\"A\"=hex:01,zz\n":       "bad.reg:3: value \"A\": bad hex byte",
		"Windows Registry Editor Version 5.00\n[HKLM\\X]\n\"A\"=\"x\n":             "bad.reg:3: value \"A\": unterminated string",
		"Windows Registry Editor Version 5.00\n[HKLM\\X\n":                         "bad.reg:2: key line without ']'",
		"Windows Registry Editor Version 5.00\n[HKLM\\X]\nnonsense\n":              "bad.reg:3: unexpected line",
		"Windows Registry Editor Version 5.00\n[HKLM\\X]\n\"A\"=hex:01,\\\n  zz\n": "bad.reg:3: value \"A\": bad hex byte",
	}
	for in, want := range cases {
		_, err := ParseReg(strings.NewReader(in), "bad.reg")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
	if _, err := ParseReg(strings.NewReader("hello"), "x.txt"); err == nil || !strings.Contains(err.Error(), "x.txt: not a registry export") {
		t.Errorf("non-reg: %v", err)
	}
}

func TestCanonicalKey(t *testing.T) {
	a := CanonicalKey(`HKLM\SYSTEM\ControlSet002\Control\Terminal Server\RCM`)
	b := CanonicalKey(`HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\Terminal Server\RCM\`)
	if a != b {
		t.Fatalf("%q != %q", a, b)
	}
	if CanonicalKey(`HKLM\SOFTWARE\ControlSet001`) == CanonicalKey(`HKLM\SOFTWARE\CurrentControlSet`) {
		t.Fatal("ControlSet folded outside SYSTEM")
	}
}

func TestGraceDays(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		exp  time.Time
		want int
	}{
		{now.Add(-time.Hour), 0},
		{now, 0},
		{now.Add(time.Minute), 1},
		{now.Add(24 * time.Hour), 1},
		{now.Add(24*time.Hour + time.Second), 2},
		{now.AddDate(0, 0, 14), 14},
	} {
		if got := DaysLeft(c.exp, now); got != c.want {
			t.Errorf("DaysLeft(%v) = %d, want %d", c.exp.Sub(now), got, c.want)
		}
	}
	for in, want := range map[string]int{"119\r\n": 119, "\ufeff\r\n0\r\n\r\n": 0, " 7 ": 7} {
		if n, err := ParseGraceDays(in); err != nil || n != want {
			t.Errorf("ParseGraceDays(%q) = %d, %v", in, n, err)
		}
	}
	for _, in := range []string{"", "abc", "1\n2", "-3", "Get-CimInstance : Invalid namespace"} {
		if _, err := ParseGraceDays(in); err == nil {
			t.Errorf("ParseGraceDays(%q) accepted", in)
		}
	}
}

func TestConfigJSON(t *testing.T) {
	f, err := ParseReg(bytes.NewReader(utf16File(exportText())), "rcm.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f, "rcm.reg")
	c.SetGraceDays(12, "test")
	flat := c.Flat()
	if flat["mode"] != "per-user" || flat["licensing_mode"] != "4" || flat["license_servers"] != "ls01.corp.example.com,ls02.corp.example.com" ||
		flat["default_license_server"] != "OLDLS" || flat["grace_period_key"] != "true" || flat["grace_days_left"] != "12" || flat["local_mode"] != "per-user" || flat["policy_mode"] != "" || len(flat) != 8 {
		t.Fatalf("Flat = %v", flat)
	}
	if (&Config{}).Flat()["grace_period_key"] != "false" || len((&Config{}).Flat()) != 1 {
		t.Fatal("empty Flat")
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mode":"per-user"`, `"licensing_mode":4`, `"license_servers":["ls01.corp.example.com","ls02.corp.example.com"]`,
		`"default_license_server":"OLDLS"`, `"grace_period_key":true`, `"grace_days_left":12`, `"sources":["rcm.reg"]`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
}

// A list written directly under TermService\Parameters (the path of a
// machine-translated copy of Microsoft's guidance) names no server Windows
// reads: it is noted, not counted.
func TestMisplacedSpecifiedLicenseServers(t *testing.T) {
	text := strings.Join([]string{
		"Windows Registry Editor Version 5.00",
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core]`,
		`"LicensingMode"=dword:00000004`,
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService\Parameters]`,
		hexValue(`"SpecifiedLicenseServers"=hex(7):`, multiSZBytes("ls01")),
	}, "\r\n")
	f, err := ParseReg(strings.NewReader(text), "misplaced.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := Read(f, "misplaced.reg")
	flat := c.Flat()
	if len(c.LicenseServers) != 0 || flat["license_servers"] != "" || flat["local_license_servers"] != "" {
		t.Fatalf("servers %v, flat %v: the misplaced list must not count", c.LicenseServers, flat)
	}
	if flat["local_mode"] != "per-user" || flat["policy_mode"] != "" {
		t.Fatalf("modes apart: %v", flat)
	}
	if len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "not where Windows reads the list") {
		t.Fatalf("notes %q", c.Notes)
	}
}

func TestParsePartOfDomain(t *testing.T) {
	for in, want := range map[string]bool{"True\r\n": true, "\ufeffFalse\r\n\r\n": false, "  true ": true} {
		if got, err := ParsePartOfDomain(in); err != nil || got != want {
			t.Errorf("ParsePartOfDomain(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Yes", "True\nFalse", "Get-CimInstance : Access denied"} {
		if _, err := ParsePartOfDomain(in); err == nil {
			t.Errorf("ParsePartOfDomain(%q) accepted", in)
		}
	}
	no := false
	c := Config{PartOfDomain: &no}
	if c.Flat()["part_of_domain"] != "false" {
		t.Fatalf("Flat = %v", c.Flat())
	}
	if _, ok := (&Config{}).Flat()["part_of_domain"]; ok {
		t.Fatal("part_of_domain set though never asked")
	}
}
