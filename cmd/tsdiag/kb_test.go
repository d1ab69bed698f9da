package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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

// TestKBShowFoldsAtWidth: --width folds an article's prose; only commands
// (indented 7, pasted as written) and single unbreakable words stay longer.
func TestKBShowFoldsAtWidth(t *testing.T) {
	for _, width := range []int{60, 140} {
		var out, errb bytes.Buffer
		if code := run([]string{"kb", "show", "grace-period-expired", "--width", strconv.Itoa(width)}, &out, &errb); code != exitOK {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		long := 0
		for _, line := range strings.Split(out.String(), "\n") {
			if utf8.RuneCountInString(line) <= width || strings.HasPrefix(line, "       ") {
				continue
			}
			if len(strings.Fields(line)) > 1 {
				t.Errorf("--width %d: line of %d columns could fold: %q", width, utf8.RuneCountInString(line), line)
			}
			long++
		}
		if width == 140 && long > 0 {
			t.Errorf("--width 140: %d lines over 140 columns", long)
		}
	}
}

func TestKBShow(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"kb", "show", "grace-period-expired"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{
		"1. Read how many grace days the host has left  [CHECK; safe; on the session host]",
		"Applies to: Windows Server 2008 to 2025",
		"Decides: ",
		"Run (PowerShell):\n       (Get-WmiObject -Namespace root\\cimv2\\terminalservices",
		"[FIX; caution; on the session host; DISCONNECTS USERS]",
		"Run (cmd):\n       change logon /drain",
		"References\n  - GetGracePeriodDays method of the Win32_TerminalServiceSetting class\n    <https://learn.microsoft.com/",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("kb show lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "PowerShell: ") || strings.Contains(s, "kb-reference") {
		t.Errorf("kb show prints a shell prefix or an internal reference:\n%s", s)
	}
	// Every check is printed before the first fix.
	if c, f := strings.LastIndex(s, "[CHECK;"), strings.Index(s, "[FIX;"); c < 0 || f < 0 || c > f {
		t.Errorf("checks must come before fixes (last check at %d, first fix at %d)", c, f)
	}
	out.Reset()
	if code := run([]string{"kb", "show", "--format", "json", "cal-pool-exhausted"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), `"ranked_steps"`) {
		t.Errorf("json: exit %d, %s", code, out.String())
	}
}

// --era leaves out the steps for other Windows versions.
func TestKBShowEra(t *testing.T) {
	var old, modern, errb bytes.Buffer
	if code := run([]string{"kb", "show", "--era", "2003", "grace-period-expired"}, &old, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if code := run([]string{"kb", "show", "--era", "2019", "grace-period-expired"}, &modern, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(old.String(), "GetGracePeriodDays().DaysLeft") || !strings.Contains(old.String(), `TermService\Parameters\LicenseServers" /s`) {
		t.Errorf("2003 shows the 2008+ WMI check or lacks the 2003 one:\n%s", old.String())
	}
	if !strings.Contains(modern.String(), "GetGracePeriodDays().DaysLeft") || strings.Contains(modern.String(), `LicenseServers" /s`) {
		t.Errorf("2019 lacks the WMI check or shows the 2003 one:\n%s", modern.String())
	}
	if code := run([]string{"kb", "show", "--era", "2017", "grace-period-expired"}, &old, &errb); code != exitError {
		t.Errorf("an unknown era must be refused, got exit %d", code)
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
