package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/engine"
)

// From the CLI: a log crafted with more distinct clients than the rules
// keep state for is an incomplete scan (exit 2), says which rule reached
// its bound in stderr and the JSON, and still reports what it kept.
func TestCraftedGroupFloodIsIncomplete(t *testing.T) {
	t.Chdir(t.TempDir())
	var evs []fev
	for i := 0; i < engine.MaxGroupsPerRule+100; i++ {
		c := fmt.Sprintf("WS-%06d", i)
		evs = append(evs, fe("TermService", 1028, 1, 9, "RDSH01", c), fe("TermService", 1028, 1, 10, "RDSH01", c))
	}
	writeEVTX(t, "flood.evtx", evs)
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/flood.toml", []byte(`
[[rule]]
id = "per-client-renewal"
title = "Renewal refused for one client"
severity = "low"
confidence = 1
events = [{ provider = "TermService", id = 1028 }]
group_by = { host = "Computer", client = "Param(1)" }
[rule.count]
threshold = 2
window = "30d"
`), 0o644)
	code, out, stderr := scanCLI(t, "", "scan", "--no-builtin", "--rules", "rules", "--format", "json", "flood.evtx")
	if code != 2 || !strings.Contains(stderr, "reached their bounds") || !strings.Contains(stderr, "per-client-renewal") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep struct {
		Incomplete bool     `json:"incomplete"`
		Findings   []any    `json:"findings"`
		Warnings   []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Incomplete || len(rep.Findings) == 0 || len(rep.Findings) > engine.MaxFindingsPerRule {
		t.Errorf("incomplete %v, %d findings", rep.Incomplete, len(rep.Findings))
	}
	code, _, _ = scanCLI(t, "", "scan", "--no-builtin", "--rules", "rules", "--keep-going", "--fail-on", "none", "flood.evtx")
	if code != 0 {
		t.Errorf("--keep-going: exit %d", code)
	}
}

// --timeout stops a scan with exit 2 and says so; a generous one changes
// nothing.
func TestScanTimeout(t *testing.T) {
	farmDir(t)
	code, out, stderr := scanCLI(t, "", "scan", "--timeout", "1ns", "farm.evtx")
	if code != 2 || !strings.Contains(stderr, "scan stopped by --timeout 1ns") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, _ = scanCLI(t, "", "scan", "--timeout", "10m", "farm.evtx")
	if code != 1 || !strings.Contains(out, "rdsh-certificate-invalid") {
		t.Errorf("--timeout 10m: exit %d\n%s", code, out)
	}
}
