package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The JSON report carries the incident: each finding's key, a symptom's
// caused_by and its cause's symptoms, and steps with phase and shell.
func TestJSONCarriesIncidentsAndStepShape(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, _, stderr := scanCLI(t, "", "gen", "cal-pool-exhausted-2016", "-o", "x.evtx"); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	_, out, _ := scanCLI(t, "", "scan", "--format", "json", "x.evtx")
	var rep struct {
		SchemaVersion string `json:"schema_version"`
		Findings      []struct {
			Remediation []struct {
				Phase string
				Shell []struct{ Shell, Run string } `json:"shell_commands"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Findings []map[string]any `json:"findings"`
	}
	json.Unmarshal([]byte(out), &raw)
	nested := 0
	for _, f := range raw.Findings {
		key, _ := f["key"].(string)
		if key == "" {
			t.Errorf("%v has no key", f["id"])
		}
		if c, ok := f["caused_by"].(string); ok {
			nested++
			var syms []string
			for _, s := range raw.Findings {
				if s["key"] == c {
					for _, x := range s["symptoms"].([]any) {
						syms = append(syms, x.(string))
					}
				}
			}
			if !slices.Contains(syms, key) {
				t.Errorf("%s caused by %s, which does not list it (%v)", key, c, syms)
			}
		}
	}
	if nested < 3 || rep.SchemaVersion < "1.3" {
		t.Errorf("%d symptoms nested, schema %s", nested, rep.SchemaVersion)
	}
	steps := rep.Findings[0].Remediation
	if len(steps) == 0 || steps[0].Phase != "check" || len(steps[0].Shell) == 0 || steps[0].Shell[0].Run == "" {
		t.Errorf("first step: %+v", steps)
	}
}

// Text and Markdown lead with the cause, list its symptoms, and mark each
// symptom as following it (its steps are the cause's).
func TestTextNestsSymptomsUnderTheirCause(t *testing.T) {
	t.Chdir(t.TempDir())
	scanCLI(t, "", "gen", "cal-pool-exhausted-2016", "-o", "x.evtx")
	_, text, _ := scanCLI(t, "", "scan", "--width", "200", "x.evtx")
	for _, want := range []string{
		"#1 CRITICAL cal-pool-exhausted",
		"Cause of 3 symptoms: #2 temporary-cal-expired, #3 cal-pool-running-low, #4 cannot-issue-client-license",
		"↳ #2 HIGH temporary-cal-expired",
		"Symptom of #1 cal-pool-exhausted: fix the cause first",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	_, md, _ := scanCLI(t, "", "scan", "--format", "markdown", "x.evtx")
	if !strings.Contains(md, "- **Symptom of:** #1 `cal-pool-exhausted`") || !strings.Contains(md, "- **Symptoms:** #2 temporary-cal-expired") {
		t.Errorf("markdown does not link symptoms and cause")
	}
}
