package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestRulesBuiltinLintsAndTestsClean(t *testing.T) {
	if code, out, errs := runCLI("rules", "lint"); code != exitOK || !strings.Contains(out, "rules OK") {
		t.Fatalf("lint: %d %s %s", code, out, errs)
	}
	code, out, _ := runCLI("rules", "test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || !strings.HasSuffix(lines[len(lines)-1], " 0 failed") {
		t.Fatalf("test: %d\n%s", code, out)
	}
}

func TestRulesLintListsEveryProblem(t *testing.T) {
	code, out, _ := runCLI("rules", "lint", "--no-builtin", filepath.Join("..", "..", "rules", "testdata", "bad.toml"))
	if code != exitError || strings.Count(out, "bad.toml:") != 8 {
		t.Fatalf("code %d, out:\n%s", code, out)
	}
}

func TestRulesTestFailureExitsOne(t *testing.T) {
	dir := t.TempDir()
	rule := `
[[class]]
name = "c"
events = [{ provider = "TermService", id = 1028 }]
[[rule]]
id = "x"
title = "x"
severity = "low"
confidence = 0.5
classes = ["c"]
[rule.count]
threshold = 2
window = "1h"
[[rule.test]]
name = "fires"
fire = true
events = [{ provider = "TermService", id = 1028 }, { provider = "TermService", id = 1028 }]
[[rule.test]]
name = "wrongly expects a fire"
fire = true
events = [{ provider = "TermService", id = 1028 }]
`
	os.WriteFile(filepath.Join(dir, "x.toml"), []byte(rule), 0o644)
	code, out, _ := runCLI("rules", "test", "--no-builtin", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitFindings || lines[len(lines)-1] != "1 passed, 1 failed" {
		t.Fatalf("code %d:\n%s", code, out)
	}
}
