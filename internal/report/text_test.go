package report

import (
	"strings"
	"testing"
)

func TestFoldHangsKeepsGapsAndGlue(t *testing.T) {
	got := fold("   Facts: alpha beta gamma delta epsilon", 10, 24)
	want := "   Facts: alpha beta\n          gamma delta\n          epsilon"
	if got != want {
		t.Errorf("fold:\n%q\nwant\n%q", got, want)
	}
	if got := fold("a  b   c", 0, 80); got != "a  b   c" {
		t.Errorf("gaps not kept: %q", got)
	}
	tag := glued("[CHECK; safe; on the session host]")
	if got := fold("1. Run the Diagnoser  "+tag, 3, 40); got != "1. Run the Diagnoser\n   [CHECK; safe; on the session host]" {
		t.Errorf("glued tag broken: %q", got)
	}
	// Too wide to stay whole: split at the glue after all, never past width
	// where a break is possible.
	for _, l := range strings.Split(fold("x "+tag, 0, 20), "\n") {
		if visibleLen(l) > 20 {
			t.Errorf("line %q over 20", l)
		}
	}
	if visibleLen("\x1b[1;4mSummary\x1b[22;24m →") != 9 {
		t.Error("colour codes counted as columns")
	}
	long := strings.Repeat("x", 50)
	if got := fold("ab "+long, 2, 20); got != "ab\n  "+long {
		t.Errorf("a word longer than the room stays whole on its own line: %q", got)
	}
}

func TestDisplayPathDropsTheScanningMachinesDirectories(t *testing.T) {
	r := &Report{Inputs: []string{"/home/me/cases/4711/bundle.zip", "rel/logs", "/srv/System.evtx"}}
	for file, want := range map[string]string{
		"/home/me/cases/4711/bundle.zip!RDSH01/System.evtx": "bundle.zip!RDSH01/System.evtx",
		"/home/me/cases/4711/bundle.zip.bak":                "/home/me/cases/4711/bundle.zip.bak",
		"/srv/System.evtx":                                  "System.evtx",
		"rel/logs/RDSH02/App.evtx":                          "rel/logs/RDSH02/App.evtx",
		"/elsewhere/Other.evtx":                             "/elsewhere/Other.evtx",
	} {
		if got := r.DisplayPath(file); got != want {
			t.Errorf("DisplayPath(%q) = %q, want %q", file, got, want)
		}
	}
}
