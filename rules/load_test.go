package rules

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLoadGood(t *testing.T) {
	set, err := Load("testdata/good.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 1 || set.Rules[0].ID != "grace-period-expiring" {
		t.Fatalf("rules = %v", set.Rules)
	}
	r := set.Rules[0]
	if r.Line != 18 || r.Diagnosis != "grace-period-expiring" || r.Kind != KindNone {
		t.Errorf("line %d diagnosis %q kind %s", r.Line, r.Diagnosis, r.Kind)
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	_, err := Load("testdata/bad.toml")
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	want := []string{
		`testdata/bad.toml:4: rule broken-one: severity "severe" must be one of`,
		`testdata/bad.toml:6: rule broken-one: unknown class "nope"`,
		`testdata/bad.toml:7: rule broken-one: when = "Param(1) +"`,
		`testdata/bad.toml:13: rule broken-two: confidence 2 must be in (0, 1]`,
		`testdata/bad.toml:15: rule broken-two: when = "Param(1)": expected bool`,
		`testdata/bad.toml:16: rule broken-two: unknown key "rule.severty"`,
		`testdata/bad.toml:18: rule broken-two: count.threshold must be at least 1`,
		`testdata/bad.toml:19: rule broken-two: count.window: bad duration "soon"`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in:\n%s", w, msg)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(ps), len(want), msg)
	}
}

func TestClassProblems(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/c.toml"
	os.WriteFile(p, []byte("[[class]]\nname = \"a\"\nevents = []\n\n[[class]]\nname = \"a\"\nevents = [{ id = 3 }]\n[[class]]\nname = \"bad name\"\nevents = [{ provider = \"X\", id = 1 }]\n"), 0o644)
	_, err := Load(p)
	msg := fmt.Sprint(err)
	for _, w := range []string{
		"c.toml:1: class a: class lists no events",
		"c.toml:5: class a: duplicate class name (first defined at " + p + ":1)",
		`c.toml:8: class bad name: class name "bad name" must be an identifier`,
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("missing %q in\n%s", w, msg)
		}
	}
}

func TestReservedGroupLabel(t *testing.T) {
	p := t.TempDir() + "/g.toml"
	os.WriteFile(p, []byte("[[rule]]\nid = \"g\"\ntitle = \"t\"\nseverity = \"low\"\nconfidence = 1\nevents = [{ provider = \"X\", id = 1 }]\ngroup_by = { param1 = \"Param(1)\", value = \"Computer\" }\n"), 0o644)
	_, err := Load(p)
	if err == nil || strings.Count(err.Error(), "taken by evidence values") != 2 || !strings.Contains(err.Error(), "g.toml:7: rule g:") {
		t.Fatalf("err = %v", err)
	}
}
