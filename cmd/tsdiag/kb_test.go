package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestKBListShowsEveryDiagnosis(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"kb", "list"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, id := range []string{"no-license-server", "grace-period-expired", "cal-migration-leftovers", "thin-client-firmware"} {
		if !strings.Contains(out.String(), id) {
			t.Errorf("kb list lacks %s", id)
		}
	}
}

func TestKBShow(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"kb", "show", "grace-period-expired"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "LAST RESORT") || !strings.Contains(s, `reg export "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\GracePeriod"`) {
		t.Errorf("grace article should end with the backed-up, last-resort reset:\n%s", s)
	}
	out.Reset()
	if code := run([]string{"kb", "show", "--format", "json", "cal-pool-exhausted"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), `"ranked_steps"`) {
		t.Errorf("json: exit %d, %s", code, out.String())
	}
}

func TestKBShowUnknownIsExit2(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"kb", "show", "grace"}, &out, &errb); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(errb.String(), "grace-period-expired") {
		t.Errorf("error should suggest close ids: %q", errb.String())
	}
}
