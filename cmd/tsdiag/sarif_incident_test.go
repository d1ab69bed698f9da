package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cause and its symptoms point at each other in SARIF: guids from the
// incident keys, caused_by/symptoms in properties, and each other's primary
// location as a related location. Validated by Microsoft's multitool when
// it is installed.
func TestSARIFLinksCauseAndSymptoms(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "pool.evtx")
	if code, _, stderr := genCLI(t, "gen", "cal-pool-exhausted-2016", "-o", log); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	out := filepath.Join(dir, "pool.sarif")
	if code, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "--format", "sarif", "-o", out, log); code != 0 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				RuleID     string                 `json:"ruleId"`
				GUID       string                 `json:"guid"`
				Properties map[string]interface{} `json:"properties"`
				Related    []struct {
					Message struct{ Text string } `json:"message"`
				} `json:"relatedLocations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	res := doc.Runs[0].Results
	guids := map[string]string{}
	for _, r := range res {
		guids[r.Properties["key"].(string)] = r.GUID
	}
	cause := res[0]
	if cause.RuleID != "cal-pool-exhausted" {
		t.Fatalf("first result %s, want the cause cal-pool-exhausted", cause.RuleID)
	}
	syms, _ := cause.Properties["symptoms"].([]interface{})
	if len(syms) != len(res)-1 || len(syms) == 0 {
		t.Fatalf("cause lists %d symptoms, %d other results", len(syms), len(res)-1)
	}
	for _, r := range res[1:] {
		by, _ := r.Properties["caused_by"].(string)
		if by != cause.Properties["key"] || r.Properties["caused_by_guid"] != cause.GUID {
			t.Errorf("%s: caused_by %q guid %v, want %v %s", r.RuleID, by, r.Properties["caused_by_guid"], cause.Properties["key"], cause.GUID)
		}
		if last := r.Related[len(r.Related)-1].Message.Text; !strings.HasPrefix(last, "caused by cal-pool-exhausted@") {
			t.Errorf("%s: last related location %q, want the cause", r.RuleID, last)
		}
		if !hasRelated(cause.Related, "symptom "+r.Properties["key"].(string)) {
			t.Errorf("cause has no related location for %s", r.Properties["key"])
		}
	}
	if tool := os.Getenv("TSDIAG_SARIF_MULTITOOL"); tool != "" {
		checkSARIF(t, tool, out)
	} else {
		t.Log("TSDIAG_SARIF_MULTITOOL unset: multitool validation of the linked SARIF skipped (TestSARIFValidatesWithMultitool says how to install it)")
	}
}

func hasRelated(rel []struct {
	Message struct{ Text string } `json:"message"`
}, text string) bool {
	for _, r := range rel {
		if r.Message.Text == text {
			return true
		}
	}
	return false
}
