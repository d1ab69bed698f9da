package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// Issue #18's done-when: scan of a 2003 log and of a 2019 log with no
// license server print different, era-right steps with the host's name
// filled in. Both logs are written by gen and read by the real scan.
func TestNoLicenseServer2003And2019PrintEraRightSteps(t *testing.T) {
	dir := t.TempDir()
	scan := func(scenario string) string {
		t.Helper()
		p := filepath.Join(dir, scenario+".evtx")
		if code, _, stderr := genCLI(t, "gen", scenario, "-o", p); code != exitOK {
			t.Fatalf("gen %s: %d %s", scenario, code, stderr)
		}
		code, out, stderr := genCLI(t, "scan", "--fail-on", "none", "--color", "never", "--width", "400", p)
		if code != exitOK {
			t.Fatalf("scan %s: %d %s", scenario, code, stderr)
		}
		return out
	}
	old, modern := scan("no-license-server-2003"), scan("no-license-server-2019")
	for _, c := range []struct {
		name, out     string
		want, wantNot []string
	}{
		{"2003", old,
			[]string{`Windows 2003: show the LicenseServers registry key on TS2003`, `Services\TermService\Parameters\LicenseServers" /s`, "Terminal Services Configuration on TS2003"},
			[]string{"Server Manager", "RD Licensing Diagnoser", "Deployment Properties", `root\cimv2\terminalservices`, "<host>", "DefaultLicenseServer /t"}},
		{"2019", modern,
			[]string{"Run RD Licensing Diagnoser on RDSH03.contoso.local", "Show which license servers RDSH03.contoso.local is told to use", `Parameters\LicenseServers" /v SpecifiedLicenseServers`, "change logon /drain"},
			[]string{"Windows 2003", "Terminal Services Configuration", "Windows 2000", "<host>", `Parameters" /v SpecifiedLicenseServers`}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.out, w) {
				t.Errorf("%s: want %q in:\n%s", c.name, w, c.out)
			}
		}
		for _, w := range c.wantNot {
			if strings.Contains(c.out, w) {
				t.Errorf("%s: %q does not belong in its steps:\n%s", c.name, w, c.out)
			}
		}
	}
}
