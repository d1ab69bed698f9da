package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func scanCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin != "" {
		// "-" reads os.Stdin through source.Walk; give it a file.
		f, err := os.CreateTemp(t.TempDir(), "stdin")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(stdin)
		f.Seek(0, 0)
		old := os.Stdin
		os.Stdin = f
		defer func() { os.Stdin = old; f.Close() }()
	}
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestScanExitCodes(t *testing.T) {
	farmDir(t)
	writeFixtureFile(t, "rules-broken/bad.toml", "[[rule]]\nid = \"x\"\nseverity = \"urgent\"\nwhen = \"EventID ==\"\n")
	writeFixtureFile(t, "not-a-log.evtx", "just some text, not an event log\n")
	writeFixtureFile(t, "accept.toml", `[[suppress]]
diagnosis = "rdsh-certificate-invalid"
group = { host = "RDSH02.contoso.com" }
reason = "certificate renewal booked for Saturday"
expires = 2099-01-31

[[suppress]]
diagnosis = "grace-period-expiring"
reason = "CALs ordered"
expires = "2099-12-31"
`)
	writeFixtureFile(t, "expired.toml", `[[suppress]]
diagnosis = "rdsh-certificate-invalid"
reason = "accepted last year"
expires = 2020-01-31

[[suppress]]
diagnosis = "grace-period-expiring"
reason = "CALs ordered"
expires = 2099-12-31
`)
	writeFixtureFile(t, "typo.toml", "[[suppress]]\ndiagnosis = \"grace-period-expirng\"\nreason = \"r\"\nexpires = 2099-01-01\n")
	writeFixtureFile(t, "broken-suppress.toml", "[[suppress]]\ndiagnosis = \"x\"\n")

	cases := []struct {
		name       string
		args       []string
		code       int
		wantStderr string
		wantStdout string
	}{
		{"findings at high", []string{"scan", "farm.xml"}, 1, "at or above --fail-on high; the first: rdsh-certificate-invalid", "3 findings"},
		{"critical threshold still reached", []string{"scan", "--fail-on", "critical", "farm.xml"}, 1, "", ""},
		{"none never fails", []string{"scan", "--fail-on", "none", "farm.xml"}, 0, "", "rdsh-certificate-invalid"},
		{"healthy passes at info", []string{"scan", "--fail-on", "info", "healthy.xml"}, 0, "", "No licensing problem found"},
		{"bad format", []string{"scan", "--format", "pdf", "farm.xml"}, 2, `--format "pdf"`, ""},
		{"bad fail-on", []string{"scan", "--fail-on", "urgent", "farm.xml"}, 2, `--fail-on "urgent"`, ""},
		{"bad time", []string{"scan", "--now", "yesterday", "farm.xml"}, 2, `--now "yesterday"`, ""},
		{"until before since", []string{"scan", "--since", "2024-03-05", "--until", "2024-03-01", "farm.xml"}, 2, "before --since", ""},
		{"unknown flag", []string{"scan", "--frobnicate", "farm.xml"}, 2, "unknown flag", ""},
		{"no path", []string{"scan"}, 2, "requires at least 1 arg", ""},
		{"broken rules", []string{"scan", "--rules", "rules-broken", "farm.xml"}, 2, "bad.toml", ""},
		{"no-builtin without rules", []string{"scan", "--no-builtin", "farm.xml"}, 2, "no rules", ""},
		{"missing input only", []string{"scan", "missing.evtx"}, 2, "missing.evtx", ""},
		{"missing input beside a good one", []string{"scan", "farm.xml", "missing.evtx"}, 2, "scan incomplete: 1 input(s) could not be read", "3 findings"},
		{"keep-going accepts it", []string{"scan", "--keep-going", "farm.xml", "missing.evtx"}, 1, "unreadable: missing.evtx", ""},
		{"keep-going and none", []string{"scan", "--keep-going", "--fail-on", "none", "farm.xml", "missing.evtx"}, 0, "unreadable: missing.evtx", ""},
		{"separate: missing input beside a good one", []string{"scan", "--separate", "farm.xml", "missing.evtx"}, 2, "scan incomplete: 1 input(s)", "3 findings"},
		{"separate: keep-going", []string{"scan", "--separate", "--keep-going", "farm.xml", "missing.evtx"}, 1, "unreadable: missing.evtx", ""},
		{"separate: nothing readable", []string{"scan", "--separate", "missing.evtx", "gone.evtx"}, 2, "no input could be read", ""},
		{"not a log file given by name", []string{"scan", "not-a-log.evtx"}, 2, "not-a-log.evtx", ""},
		{"suppressed findings pass", []string{"scan", "--suppress", "accept.toml", "farm.xml"}, 0, "", "2 suppressed"},
		{"expired suppression stops applying", []string{"scan", "--suppress", "expired.toml", "farm.xml"}, 1, "expired.toml:1 for rdsh-certificate-invalid expired on 2020-01-31", "expired suppression: rdsh-certificate-invalid expired 2020-01-31"},
		{"typo in suppression warns", []string{"scan", "--suppress", "typo.toml", "--fail-on", "none", "farm.xml"}, 0, `no rule or article has the id "grace-period-expirng"`, ""},
		{"broken suppression file", []string{"scan", "--suppress", "broken-suppress.toml", "farm.xml"}, 2, "broken-suppress.toml:1: suppression 1: reason is required", ""},
		{"missing suppression file", []string{"scan", "--suppress", "nope.toml", "farm.xml"}, 2, "nope.toml", ""},
		{"json to a file", []string{"scan", "--format", "json", "-o", "out/report.json", "farm.xml"}, 2, "writing report", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := scanCLI(t, "", c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if !strings.Contains(stderr, c.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", c.wantStderr, stderr)
			}
			if !strings.Contains(stdout, c.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", c.wantStdout, stdout)
			}
		})
	}
}

func TestScanWritesFileAndStdin(t *testing.T) {
	farmDir(t)
	code, stdout, stderr := scanCLI(t, "", "scan", "--format", "json", "-o", "report.json", "farm.xml")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "json report written to report.json") || !strings.Contains(stderr, "tsdiag: 3 findings (1 CRITICAL, 1 HIGH, 1 MEDIUM) in 1 file") {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	data, err := os.ReadFile("report.json")
	if err != nil || !bytes.Contains(data, []byte(`"schema": "tsdiag-report"`)) {
		t.Fatalf("report.json: %v %.200s", err, data)
	}
	code, stdout, stderr = scanCLI(t, xmlExport(farmEvents(), false), "scan", "--format", "markdown", "-")
	if code != 1 || !strings.Contains(stdout, "`rdsh-certificate-invalid`") || !strings.Contains(stdout, "<stdin>") {
		t.Fatalf("stdin scan: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := scanCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(stdout, "tsdiag ") || !strings.Contains(stdout, "go: go1.") || !strings.Contains(stdout, "commit: ") {
		t.Fatalf("exit %d: %q", code, stdout)
	}
}

// -o picks the format from the file's extension unless --format says; an
// extension naming no format, or another format than --format, is exit 2.
func TestOutputExtensionPicksFormat(t *testing.T) {
	farmDir(t)
	for file, want := range map[string]string{"r.html": "<!DOCTYPE html>", "r.sarif": `"version": "2.1.0"`, "r.xml": "<testsuites",
		"r.junit": "<testsuites", "r.md": "## tsdiag:", "r.json": `"schema": "tsdiag-report"`, "r.txt": "3 findings (1 CRITICAL"} {
		if code, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "-o", file, "farm.evtx"); code != 0 {
			t.Fatalf("%s: exit %d %s", file, code, stderr)
		}
		if data, _ := os.ReadFile(file); !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %q", file, want)
		}
	}
	if code, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "-o", "r.out", "farm.evtx"); code != 2 || !strings.Contains(stderr, "give --format") || !strings.Contains(stderr, ".junit") || !strings.Contains(stderr, ".markdown") {
		t.Errorf("-o r.out: exit %d %q, want 2 asking for --format", code, stderr)
	}
	if _, err := os.Stat("r.out"); err == nil {
		t.Error("r.out written although its extension names no format")
	}
	code, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "--format", "json", "-o", "forced.html", "farm.evtx")
	if code != 2 || !strings.Contains(stderr, "--format json but -o forced.html names html") {
		t.Errorf("--format json -o forced.html: exit %d %q, want 2", code, stderr)
	}
	scanCLI(t, "", "scan", "--fail-on", "none", "--format", "json", "-o", "forced.out", "farm.evtx")
	if data, _ := os.ReadFile("forced.out"); !strings.HasPrefix(string(data), "{") {
		t.Error("--format json to an extension naming no format was not JSON")
	}
}
