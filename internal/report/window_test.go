package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func windowReport(kept int) *Report {
	since := time.Date(2025, 11, 3, 0, 0, 0, 0, time.UTC)
	return &Report{Version: SchemaVersion, Tool: "dev", Inputs: []string{"old.evtx"}, FailOn: "high",
		Window: Window{Since: since, Before: 418, Kept: kept, Newest: time.Date(2024, 12, 3, 9, 0, 0, 0, time.UTC)}}
}

func renderAll(t *testing.T, r *Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range Formats {
		var b bytes.Buffer
		if err := Write(&b, r, f, Options{Width: 1000}); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = b.String()
	}
	return out
}

// A window that set aside every licensing event is never a quiet "no
// problem found": the text leads with it, SARIF and JSON warn, JUnit has a
// red case, Markdown and HTML say "nothing diagnosed".
func TestWindowThatSetAsideEverything(t *testing.T) {
	r := windowReport(0)
	out := renderAll(t, r)
	first := strings.SplitN(out["text"], "\n", 2)[0]
	if !strings.HasPrefix(first, "Nothing diagnosed: the time window set aside all 418 licensing events: 418 before 2025-11-03 00:00:00Z (--since); newest licensing event 2024-12-03 09:00:00Z") ||
		strings.Contains(out["text"], "No licensing problem found") {
		t.Fatalf("text first line %q", first)
	}
	var js struct {
		Window struct {
			Before      int  `json:"set_aside_before"`
			AllSetAside bool `json:"all_set_aside"`
		}
		Warnings []string
	}
	if err := json.Unmarshal([]byte(out["json"]), &js); err != nil {
		t.Fatal(err)
	}
	if js.Window.Before != 418 || !js.Window.AllSetAside || len(js.Warnings) != 1 {
		t.Fatalf("json window %+v warnings %v", js.Window, js.Warnings)
	}
	validateJSON(t, []byte(out["json"]))
	if !strings.Contains(out["sarif"], `"level": "warning"`) || !strings.Contains(out["sarif"], "set aside all 418 licensing events") {
		t.Fatalf("sarif has no warning:\n%s", out["sarif"])
	}
	if !strings.Contains(out["junit"], `errors="1"`) || !strings.Contains(out["junit"], `type="empty-window"`) ||
		!strings.Contains(out["junit"], "<system-out>the time window set aside all 418") {
		t.Fatalf("junit:\n%s", out["junit"])
	}
	if !strings.HasPrefix(out["markdown"], "## tsdiag: nothing diagnosed: the time window set aside all 418") ||
		!strings.Contains(out["markdown"], "**nothing diagnosed**") || strings.Contains(out["markdown"], "passes") {
		t.Fatalf("markdown:\n%s", out["markdown"])
	}
	if !strings.Contains(out["html"], "<strong>nothing diagnosed</strong>") || !strings.Contains(out["html"], `class="warn window">Warning: the time window set aside all 418`) {
		t.Fatalf("html header does not say it")
	}
}

// A window that set aside some events says how many and why in every
// format, as a warning, without turning the verdict.
func TestWindowThatSetAsideSome(t *testing.T) {
	r := windowReport(12)
	out := renderAll(t, r)
	note := "the time window set aside 418 licensing events: 418 before 2025-11-03 00:00:00Z (--since)"
	lines := strings.Split(out["text"], "\n")
	if !strings.HasPrefix(lines[0], "No licensing problem found") || lines[1] != "Warning: "+note {
		t.Fatalf("text:\n%s", out["text"])
	}
	for _, f := range Formats {
		if !strings.Contains(out[f], note) {
			t.Errorf("%s does not say %q", f, note)
		}
	}
	if strings.Contains(out["junit"], "empty-window") || !strings.Contains(out["markdown"], "passes") {
		t.Fatalf("a partial window turned the verdict:\n%s\n%s", out["junit"], out["markdown"])
	}
	// No window: no warning anywhere, and the JSON has no window object.
	plain := renderAll(t, &Report{Version: SchemaVersion, Inputs: []string{"a.evtx"}})
	for _, f := range Formats {
		if strings.Contains(plain[f], "set aside") {
			t.Errorf("%s mentions a window that was not applied", f)
		}
	}
	if strings.Contains(plain["json"], `"window"`) || strings.Contains(plain["json"], `"warnings"`) {
		t.Fatalf("json without a window:\n%s", plain["json"])
	}
}
