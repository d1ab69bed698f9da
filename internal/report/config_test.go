package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// utf16reg encodes a .reg export the way regedit writes it: UTF-16LE with
// a byte order mark.
func utf16reg(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

const sampleRegText = "Windows Registry Editor Version 5.00\r\n\r\n" +
	"[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n" +
	"\"LicensingMode\"=dword:00000004\r\n\r\n" +
	"[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\TermService\\Parameters\\LicenseServers]\r\n" +
	"\"SpecifiedLicenseServers\"=hex(7):4c,00,53,00,30,00,31,00,00,00,00,00\r\n"

// sampleConfig is RDSH01's configuration parsed from a real UTF-16LE export.
func sampleConfig() map[string]regcfg.Config {
	rf, err := regcfg.ParseReg(bytes.NewReader(utf16reg(sampleRegText)), "bundle.zip!RDSH01/licensing.reg")
	if err != nil {
		panic(err)
	}
	return map[string]regcfg.Config{"RDSH01": regcfg.Read(rf, rf.Names...)}
}

func TestConfigInEveryFormat(t *testing.T) {
	r := sampleReport()
	want := "RDSH01: licensing mode per-user (4); license servers LS01 [bundle.zip!RDSH01/licensing.reg]"
	if got := r.ConfigLines(); len(got) != 1 || got[0] != want {
		t.Fatalf("ConfigLines = %q, want %q", got, want)
	}
	for format, line := range map[string]string{
		"text":     "Configuration seen: " + want,
		"markdown": "- **Configuration seen:** " + want,
		"html":     "Configuration seen: " + want,
	} {
		var b bytes.Buffer
		if err := Write(&b, r, format, Options{Width: 1000}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), line) {
			t.Errorf("%s report lacks %q", format, line)
		}
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Config map[string]struct {
			Mode           string   `json:"mode"`
			LicensingMode  int      `json:"licensing_mode"`
			LicenseServers []string `json:"license_servers"`
			Sources        []string `json:"sources"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Config["RDSH01"]
	if c.Mode != "per-user" || c.LicensingMode != 4 || strings.Join(c.LicenseServers, ",") != "LS01" || len(c.Sources) != 1 {
		t.Errorf("JSON config = %+v", doc.Config)
	}
}

// Without configuration the report has no config field and no line.
func TestNoConfigNoField(t *testing.T) {
	r := sampleReport()
	r.Config = nil
	for _, format := range []string{"text", "json", "markdown", "html"} {
		var b bytes.Buffer
		if err := Write(&b, r, format, Options{Width: 1000}); err != nil {
			t.Fatal(err)
		}
		if s := b.String(); strings.Contains(s, "Configuration seen") || strings.Contains(s, `"config"`) {
			t.Errorf("%s report mentions configuration without any", format)
		}
	}
}
