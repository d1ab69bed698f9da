package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func validateJSON(t *testing.T, data []byte) { validateDef(t, "", data) }

func validateDef(t *testing.T, def string, data []byte) {
	t.Helper()
	errs, err := Validate(def, data)
	if err != nil {
		t.Fatalf("%s: %v", def, err)
	}
	for _, e := range errs {
		t.Error(e)
	}
}

// The JSON of a real scan (the golden file of the farm scan in cmd/tsdiag)
// follows the schema.
func TestScanJSONFollowsSchema(t *testing.T) {
	data, err := os.ReadFile("../../cmd/tsdiag/testdata/golden/farm.json")
	if err != nil {
		t.Skipf("golden scan output not present: %v", err)
	}
	validateJSON(t, data)
}

// Every optional part (suppressions, expired ones, unreadable inputs,
// damage) follows the schema too, and the checker itself catches breakage.
func TestFullReportFollowsSchema(t *testing.T) {
	r := sampleReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	validateJSON(t, b.Bytes())

	broken := bytes.Replace(b.Bytes(), []byte(`"severity": "high"`), []byte(`"severity": "urgent"`), 1)
	broken = bytes.Replace(broken, []byte(`"rank": 1,`), []byte(``), 1)
	var schema, doc map[string]any
	json.Unmarshal(JSONSchema, &schema)
	if err := json.Unmarshal(broken, &doc); err != nil {
		t.Fatal(err)
	}
	c := &schemaChecker{root: schema}
	c.check("$", schema, doc)
	if len(c.errs) < 2 {
		t.Fatalf("checker missed a bad severity and a missing rank: %v", c.errs)
	}
}

// The JSON lines of watch and live follow the schema's finding_line and
// config_line: the finding in the report's shape, and the checker rejects
// a line in engine.Finding's raw shape (no summary, remediation, input).
func TestJSONLinesFollowSchema(t *testing.T) {
	r := sampleReport()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var b bytes.Buffer
	if err := WriteConfigLine(&b, at, r.Config); err != nil {
		t.Fatal(err)
	}
	for _, it := range r.Findings {
		if err := WriteFindingLine(&b, "updated", at, it, r.Config); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 1+len(r.Findings) || len(r.Findings) == 0 || len(r.Config) == 0 {
		t.Fatalf("%d lines for %d findings:\n%s", len(lines), len(r.Findings), b.String())
	}
	validateDef(t, "config_line", []byte(lines[0]))
	for _, l := range lines[1:] {
		validateDef(t, "finding_line", []byte(l))
	}
	// The report's own finding and the line's are the same object.
	var rep struct{ Findings []json.RawMessage }
	var full bytes.Buffer
	if err := WriteJSON(&full, r); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(full.Bytes(), &rep)
	var line struct{ Finding map[string]any }
	json.Unmarshal([]byte(lines[1]), &line)
	var first map[string]any
	json.Unmarshal(rep.Findings[0], &first)
	first["input"] = "" // a stream has no command-line input
	if a, b := mustJSON(t, first), mustJSON(t, line.Finding); a != b {
		t.Fatalf("line finding differs from report finding:\n%s\n%s", b, a)
	}
	raw, _ := json.Marshal(map[string]any{"type": "finding", "change": "new", "time": at, "finding": r.Findings[0].Finding})
	if errs, _ := Validate("finding_line", raw); len(errs) == 0 {
		t.Fatal("a raw engine.Finding line passed the schema")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Numbers in facts follow one rounding rule in every format: two decimals,
// in the JSON report and lines as in the text beside them.
func TestFactsRoundAlikeInEveryFormat(t *testing.T) {
	r := sampleReport()
	f := &r.Findings[0].Finding
	f.Facts = map[string]any{"days_left": 9.700000000000001, "ratio": 1.23456, "list": []any{0.333333, "x"}, "n": 3}
	var js, line, text, sarif bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if err := Write(&sarif, r, "sarif", Options{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFindingLine(&line, "new", time.Now(), r.Findings[0], r.Config); err != nil {
		t.Fatal(err)
	}
	if err := Write(&text, r, "text", Options{}); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"json": js.String(), "line": line.String(), "sarif": sarif.String()} {
		if !strings.Contains(out, `"days_left": 9.7`) && !strings.Contains(out, `"days_left":9.7`) ||
			strings.Contains(out, "9.700000000000001") || strings.Contains(out, "1.23456") || strings.Contains(out, "0.333333") {
			t.Errorf("%s facts not rounded to two decimals:\n%s", name, out)
		}
		if !strings.Contains(out, "1.23") || !strings.Contains(out, "0.33") {
			t.Errorf("%s lost the rounded values:\n%s", name, out)
		}
	}
	if !strings.Contains(text.String(), "days_left=9.7") || !strings.Contains(text.String(), "ratio=1.23") ||
		strings.Contains(text.String(), "0.333333") {
		t.Errorf("text facts:\n%s", text.String())
	}
}
