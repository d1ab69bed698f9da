package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeRules(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const diagRule = `
[[rule]]
id = "x-down"
title = "X is down"
severity = "high"
confidence = 0.9
events = [{ provider = "P", id = 1 }]
group_by = { host = "Computer" }
`

func TestDiagnosisTablesLoad(t *testing.T) {
	p := writeRules(t, "r.toml", diagRule+`
[[diagnosis]]
id = "x-late"
symptom_of = ["x-down"]
incident_by = ["host", "queue"]
superseded_by = "x-gone"
stale_when = "Facts.days_left < 0"
`)
	set, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	d := set.Diagnosis("x-late")
	if d == nil || !slices.Equal(d.SymptomOf, []string{"x-down"}) || !slices.Equal(d.IncidentBy, []string{"host", "queue"}) ||
		d.SupersededBy != "x-gone" || d.Line != 10 || d.File != p {
		t.Fatalf("diagnosis %+v", d)
	}
	env := &DiagnosisEnv{Facts: map[string]any{"days_left": -3.96}, Now: time.Now()}
	if !d.IsStale(env) {
		t.Error("days_left -3.96 should be stale")
	}
	env.Facts["days_left"] = 4.0
	if d.IsStale(env) {
		t.Error("days_left 4 is not stale")
	}
	// A missing fact is an evaluation error: not stale, never a panic.
	if d.IsStale(&DiagnosisEnv{}) {
		t.Error("no facts: not stale")
	}
	if set.Diagnosis("x-down") != nil || !slices.Equal(set.DiagnosisIDs(), []string{"x-late"}) {
		t.Errorf("ids %v", set.DiagnosisIDs())
	}
}

func TestDiagnosisProblemsNameFileAndLine(t *testing.T) {
	p := writeRules(t, "bad.toml", diagRule+`
[[diagnosis]]
id = "Bad Id"

[[diagnosis]]
id = "y"
symptom_of = ["y"]
superseded_by = "z"

[[diagnosis]]
id = "w"
superseded_by = "v"
stale_when = "Facts.days_left <"

[[diagnosis]]
id = "y"

[[diagnosis]]
id = "u"
explained_when = "By.cal_type == ''"

[[diagnosis]]
id = "t"
explained_by = ["t"]
explained_when = "Nope.x"
`)
	_, err := Load(p)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err %v", err)
	}
	text := ps.Error()
	for _, want := range []string{
		p + `:10: diagnosis Bad Id: diagnosis id "Bad Id" must be`,
		p + `:13: diagnosis y: symptom_of: a diagnosis cannot be a symptom of itself`,
		p + `:13: diagnosis y: superseded_by and stale_when go together`,
		p + `:18: diagnosis w: stale_when = "Facts.days_left <"`,
		p + `:23: diagnosis y: duplicate diagnosis id (first defined at ` + p + `:13)`,
		p + `:26: diagnosis u: explained_when needs explained_by`,
		p + `:30: diagnosis t: explained_by: "t" is not another diagnosis id`,
		p + `:30: diagnosis t: explained_when = "Nope.x"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

// A user rule directory joins the causal links with its own [[diagnosis]]
// table: one with a built-in id replaces the built-in declaration.
func TestUserDiagnosisReplacesBuiltin(t *testing.T) {
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if d := b.Diagnosis("temporary-cal-expired"); d == nil || !slices.Contains(d.SymptomOf, "cal-pool-exhausted") {
		t.Fatalf("built-in temporary-cal-expired: %+v", d)
	}
	p := writeRules(t, "mine.toml", diagRule+`
[[diagnosis]]
id = "temporary-cal-expired"
symptom_of = ["x-down"]
`)
	u, err := LoadOver(b, p)
	if err != nil {
		t.Fatal(err)
	}
	if d := u.Diagnosis("temporary-cal-expired"); d == nil || !slices.Equal(d.SymptomOf, []string{"x-down"}) {
		t.Fatalf("user table did not replace: %+v", d)
	}
	if u.Diagnosis("grace-period-expiring") == nil {
		t.Error("built-in tables the user did not name are kept")
	}
	m, err := Merge(b, u)
	if err != nil || !slices.Equal(m.Diagnosis("temporary-cal-expired").SymptomOf, []string{"x-down"}) {
		t.Fatalf("merge: %v", err)
	}
}

// Every diagnosis the built-in tables name is one a built-in rule reaches,
// so a typo cannot silently disable a link.
func TestBuiltinDiagnosisTablesNameRealDiagnoses(t *testing.T) {
	b, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range b.Rules {
		known[r.Diagnosis] = true
	}
	for _, id := range b.DiagnosisIDs() {
		d := b.Diagnosis(id)
		names := append([]string{d.ID}, d.SymptomOf...)
		if d.SupersededBy != "" {
			names = append(names, d.SupersededBy)
		}
		for _, n := range names {
			if !known[n] {
				t.Errorf("%s:%d: %s names %q, which no built-in rule diagnoses", d.File, d.Line, id, n)
			}
		}
	}
}
