package main

import (
	"strings"
	"testing"
)

// TestDemoScansTheScenario: the demo writes its scenario and the real scan
// puts the scenario's expected diagnosis first.
func TestDemoScansTheScenario(t *testing.T) {
	code, out, stderr := genCLI(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "records written to") {
		t.Fatalf("no write line:\n%s", out)
	}
	first := strings.Index(out, "#1 ")
	// The scenario's host has no license server specified (50282): that is
	// the cause, and the grace expiry is its symptom, listed right after it.
	if first < 0 || !strings.HasPrefix(out[first:], "#1 CRITICAL no-license-server") {
		t.Fatalf("first finding is not the cause no-license-server:\n%s", out)
	}
	if !strings.Contains(out, "#2 CRITICAL grace-period-expired") {
		t.Fatalf("second finding is not its symptom grace-period-expired:\n%s", out)
	}
	if !strings.Contains(out, "host=RDSH01.contoso.local") {
		t.Fatalf("finding not grouped by the host:\n%s", out)
	}
}

func TestDemoUnknownScenario(t *testing.T) {
	code, _, stderr := genCLI(t, "demo", "--scenario", "nope")
	if code != 2 || !strings.Contains(stderr, `no scenario "nope"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
