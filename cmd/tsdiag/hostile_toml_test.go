package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue #19: a TOML file of a million nested '[' crashed the process inside
// the parser (a fatal stack overflow). As a rule file, a suppression file
// and a scenario it must now be refused with exit 2 and the file's name.
func TestDeeplyNestedTOMLRefused(t *testing.T) {
	dir := t.TempDir()
	deep := "v = " + strings.Repeat("[", 1_300_000) + strings.Repeat("]", 1_300_000) + "\n"
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	ruleFile := filepath.Join(rulesDir, "deep.toml")
	supFile := filepath.Join(dir, "suppress.toml")
	scenFile := filepath.Join(dir, "scenario.toml")
	for _, p := range []string{ruleFile, supFile, scenFile} {
		if err := os.WriteFile(p, []byte(deep), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := filepath.Join(dir, "x.evtx")
	if code, _, stderr := genCLI(t, "gen", "healthy-2019-rdsh", "-o", log); code != 0 {
		t.Fatalf("gen: %d %s", code, stderr)
	}
	cases := []struct {
		args []string
		name string // the file the message must name
	}{
		{[]string{"rules", "lint", rulesDir}, "deep.toml"},
		{[]string{"scan", "--rules", rulesDir, log}, "deep.toml"},
		{[]string{"scan", "--suppress", supFile, log}, "suppress.toml"},
		{[]string{"gen", scenFile, "-o", filepath.Join(dir, "out.evtx")}, "scenario.toml"},
	}
	for _, c := range cases {
		code, stdout, stderr := runCLI(c.args...)
		out := stdout + stderr
		if code != 2 || !strings.Contains(out, "nested more than") || !strings.Contains(out, c.name) {
			t.Errorf("%v: exit %d, output %q", c.args, code, out)
		}
	}
}
