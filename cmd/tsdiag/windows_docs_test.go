package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// README.md says plainly that the Windows layer has not run on Windows and
// shows how to run the Windows tests by hand with the same -run pattern and
// environment variable as .github/workflows/windows.yml; every test the
// pattern names exists, and the variable is the one the Windows-only tests
// read.
func TestReadmeWindowsTestsMatchWorkflow(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme := read("../../README.md")
	flow := read("../../.github/workflows/windows.yml")

	// Lines wrap in the README: compare with whitespace folded.
	plain := strings.Join(strings.Fields(readme), " ")
	for _, want := range []string{
		"Nothing of the Windows layer",
		"has run on Windows yet",
		"cross-built and vetted",
		"recorded outputs",
		"docs/live.md",
		"docs/collect.md",
		".github/workflows/windows.yml",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}

	runPat := regexp.MustCompile(`go test -count=1 -v -run "([^"]+)"`)
	fm := runPat.FindStringSubmatch(flow)
	rm := runPat.FindStringSubmatch(readme)
	if fm == nil || rm == nil {
		t.Fatalf("-run pattern: workflow %v, README %v", fm != nil, rm != nil)
	}
	if fm[1] != rm[1] {
		t.Errorf("README runs %q, the workflow %q", rm[1], fm[1])
	}

	envPat := regexp.MustCompile(`TSDIAG_[A-Z_]+`)
	flowEnv := envPat.FindString(flow)
	if flowEnv == "" || !strings.Contains(readme, `$env:`+flowEnv+` = "1"`) {
		t.Errorf("README does not set the workflow's variable %q", flowEnv)
	}

	// Every name in the pattern is a test function; the variable is read by
	// a Windows-only test.
	var src strings.Builder
	for _, dir := range []string{"../../evtx/live", "."} {
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		for _, f := range files {
			src.WriteString(read(f))
		}
	}
	for _, name := range strings.Split(fm[1], "|") {
		if !strings.Contains(src.String(), "func "+name+"(t *testing.T)") {
			t.Errorf("the -run pattern names %s, which is no test in evtx/live or cmd/tsdiag", name)
		}
	}
	if !strings.Contains(read("live_windows_test.go"), `os.Getenv("`+flowEnv+`")`) {
		t.Errorf("no Windows-only test reads %s", flowEnv)
	}
}
