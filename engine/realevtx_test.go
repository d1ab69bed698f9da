package engine

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// TestRealRCMLogThroughOurDecoder feeds a real RemoteConnectionManager log
// (UserData/EventXML/ParamN payloads, the shape of the 2008+ licensing
// events) through our EVTX decoder with the rule-derived filter, and checks
// the engine's groups, counts and evidence against libevtx's evtxexport.
func TestRealRCMLogThroughOurDecoder(t *testing.T) {
	path := corpusFile(t, "2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx")
	tool, err := exec.LookPath("evtxexport")
	if err != nil {
		t.Skip("evtxexport (Debian libevtx-utils) not installed")
	}
	xml, err := exec.Command(tool, "-f", "xml", path).Output()
	if err != nil {
		t.Fatalf("evtxexport: %v", err)
	}
	set := ruleSet(t, `
[[class]]
name = "rdp_auth_ok"
events = [{ provider = "`+rcm+`", id = 1149 }]
[[rule]]
id = "auth-by-source"
title = "RDP authentications per source address"
severity = "info"
confidence = 1
classes = ["rdp_auth_ok"]
when = "HasParam(3) && Data(\"Param3\") == Param(3)"
group_by = { source = "Param(3)" }
facts = { users = "Distinct", last_user = "Last.Param(1)", host = "Computer" }
[[rule]]
id = "listener-bursts"
title = "Listener connections, 20 within 10 minutes"
severity = "info"
confidence = 1
events = [{ provider = "`+rcm+`", id = 261 }]
[rule.count]
threshold = 20
window = "10m"
`)
	// libevtx's view: 1149 per source address, and the total of 261.
	want := map[string]int{}
	events := regexp.MustCompile(`(?s)<Event .*?</Event>`).FindAll(xml, -1)
	n261 := 0
	for _, ev := range events {
		switch id := regexp.MustCompile(`<EventID>(\d+)<`).FindSubmatch(ev); string(id[1]) {
		case "1149":
			want[string(regexp.MustCompile(`<Param3>([^<]*)<`).FindSubmatch(ev)[1])]++
		case "261":
			n261++
		}
	}
	if len(want) == 0 || n261 == 0 {
		t.Fatalf("evtxexport output has no 1149/261 (%d events)", len(events))
	}
	eng := New(set, Options{})
	st, err := evtx.DecodeFile(path, evtx.Options{Filter: set.Filter()}, eng.Feed)
	if err != nil {
		t.Fatal(err)
	}
	// Our decoder also recovers records libevtx does not (chunks past the
	// header's count in this dirty shadow-copy log), never fewer.
	if st.Records < len(events) {
		t.Errorf("decoder read %d records, evtxexport %d", st.Records, len(events))
	}
	if fed := eng.Stats().Events; fed < n261+sum(want) || fed > st.Records {
		t.Errorf("engine fed %d events, want at least %d (the 261 and 1149 evtxexport sees)", fed, n261+sum(want))
	}
	got := map[string]int{}
	bursts := 0
	for _, f := range eng.Finish() {
		switch f.Rule {
		case "auth-by-source":
			got[f.Group["source"]] = f.Count
			if f.Facts["host"] != "DESKTOP-1N4R894" || f.Facts["last_user"] == "" || f.Evidence[0].Values["param3"] != f.Group["source"] {
				t.Errorf("%v: facts %v evidence %v", f.Group, f.Facts, f.Evidence[0].Values)
			}
		case "listener-bursts":
			bursts++
			if f.Count < 20 || len(f.Evidence) > EvidenceHead+EvidenceTail || f.LastSeen.Before(f.FirstSeen) {
				t.Errorf("burst finding: count %d, evidence %d", f.Count, len(f.Evidence))
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("sources %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d authentications, evtxexport shows %d", k, got[k], n)
		}
	}
	t.Logf("%d records, %d fed, sources %v, %d burst finding(s)", st.Records, eng.Stats().Events, got, bursts)
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
