package engine

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/xmlevents"
)

// corpusFile returns a file of the shared corpus or skips.
func corpusFile(t testing.TB, name string) string {
	p := filepath.Join("..", "..", "shared", "corpus", "evtx-samples", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus absent (%v); see GUIDE: ../shared next to the repo", err)
	}
	return p
}

// TestRealSystemLogThroughPython decodes a real System log with python-evtx
// (an independent decoder CI installs), reads its XML with our reader
// filtered by the rule set, and checks the engine's per-service counts
// against counts taken from the XML text directly.
func TestRealSystemLogThroughPython(t *testing.T) {
	path := corpusFile(t, "2-vss_7-System.evtx")
	dump, err := exec.LookPath("evtx_dump.py")
	if err != nil {
		t.Skip("evtx_dump.py (Debian python3-evtx) not installed")
	}
	xml, err := exec.Command(dump, path).Output()
	if err != nil {
		t.Fatalf("evtx_dump.py: %v", err)
	}
	set := ruleSet(t, `
[[rule]]
id = "start-type-changed"
title = "Service start type changed"
severity = "info"
confidence = 1
events = [{ provider = "Service Control Manager", id = 7040 }]
group_by = { service = "Param(1)" }
facts = { key = "Data(\"param4\")", host = "Computer" }
`)
	want := map[string]int{}
	for _, ev := range regexp.MustCompile(`(?s)<Event .*?</Event>`).FindAll(xml, -1) {
		if bytes.Contains(ev, []byte(`Name="Service Control Manager"`)) && bytes.Contains(ev, []byte(">7040</EventID>")) {
			want[string(regexp.MustCompile(`<Data Name="param1">([^<]*)<`).FindSubmatch(ev)[1])]++
		}
	}
	if len(want) < 3 {
		t.Fatalf("corpus file changed? only %d services with 7040", len(want))
	}
	eng := New(set, Options{})
	st, err := xmlevents.Decode(bytes.NewReader(xml), path, xmlevents.Options{Filter: set.Filter()}, func(e *evtx.Event) error {
		return eng.Feed(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	fs := eng.Finish()
	got := map[string]int{}
	for _, f := range fs {
		got[f.Group["service"]] = f.Count
		if f.Host != "DESKTOP-1N4R894" || f.Facts["host"] != f.Host || f.Facts["key"] == "" {
			t.Errorf("%s: host %q facts %v", f.Group["service"], f.Host, f.Facts)
		}
		if f.FirstSeen.Year() != 2018 {
			t.Errorf("%s: first seen %v", f.Group["service"], f.FirstSeen)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("groups %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d events, want %d", k, got[k], n)
		}
	}
	// The filter passes the rule's 7040 and the EventLog 6013 uptime
	// records the engine reads each host's time zone from.
	// records the engine reads each host's time zone from, and the 6009
	// boot records it reads the OS build from.
	zone, boot := 0, 0
	for _, ev := range regexp.MustCompile(`(?s)<Event .*?</Event>`).FindAll(xml, -1) {
		if bytes.Contains(ev, []byte(`Name="EventLog"`)) && bytes.Contains(ev, []byte(">6013</EventID>")) {
			zone++
		}
		if bytes.Contains(ev, []byte(`Name="EventLog"`)) && bytes.Contains(ev, []byte(">6009</EventID>")) {
			boot++
		}
	}
	if st.Records != 1160 || eng.Stats().Events != 52+zone+boot {
		t.Errorf("reader records %d (want 1160), engine fed %d (want 52 7040s + %d 6013s + %d 6009s)", st.Records, eng.Stats().Events, zone, boot)
	}
}
