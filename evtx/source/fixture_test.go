package source

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

var update = flag.Bool("update", false, "rewrite testdata/support-bundle.tgz")

const fixture = "testdata/support-bundle.tgz"

// ts2003Log is a Windows Server 2003 System log whose grace period runs out:
// daily TermService 1009 countdown warnings from 14 days before the date
// they name, then 1008 once it has expired, among service-control noise, in a
// log small enough to have wrapped.
func ts2003Log(t testing.TB) []byte {
	expiry := time.Date(2006, 5, 15, 0, 0, 0, 0, time.UTC)
	var recs []evtenc.Record
	noise := func(at time.Time, svc, state string) {
		recs = append(recs, evtenc.Record{Time: at, EventID: 0x40001B7C, Type: evtenc.Information,
			Source: "Service Control Manager", Computer: "TS2003", Strings: []string{svc, state}})
	}
	for day := -30; day < 3; day++ {
		at := expiry.AddDate(0, 0, day).Add(8 * time.Hour)
		for h := 0; h < 6; h++ {
			noise(at.Add(time.Duration(h)*time.Hour), "Windows Update", []string{"running", "stopped"}[h%2])
		}
		switch {
		case day >= -14 && day < 0:
			recs = append(recs, evtenc.Record{Time: at.Add(30 * time.Minute), EventID: 0x800003F1, Type: evtenc.Warning,
				Source: "TermService", Computer: "TS2003", Strings: []string{"5/15/2006"}})
		case day >= 0:
			recs = append(recs, evtenc.Record{Time: at.Add(30 * time.Minute), EventID: 0xC00003F0, Type: evtenc.Error,
				Source: "TermService", Computer: "TS2003"})
		}
	}
	b, err := evtenc.Encode(recs, evtenc.Options{MaxSize: 24 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var rcmGUID = "{C76BAA63-AE81-421C-B425-340B4B24157F}"

// rdsh2016Log is a 2016 session host's System log (written by the project's
// EVTX encoder): RCM 1128, grace expired with no license server.
func rdsh2016Log(t testing.TB) []byte {
	var buf bytes.Buffer
	w := writer.New(&buf)
	t0 := time.Date(2024, 2, 1, 7, 0, 0, 0, time.UTC)
	for d := 0; d < 3; d++ {
		w.Write(writer.Record{Provider: "Service Control Manager", ProviderGUID: "{555908D1-A6D7-4695-8E1E-26931D2012F4}",
			EventSourceName: "Service Control Manager", EventID: 7036, Qualifiers: 16384, Level: 4,
			Keywords: 0x8080000000000000, TimeCreated: t0.AddDate(0, 0, d), Channel: "System", Computer: "RDSH16.corp.example",
			Payload: writer.NamedData("param1", writer.String("Remote Desktop Services"), "param2", writer.String("running"))})
		w.Write(writer.Record{Provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager", ProviderGUID: rcmGUID,
			EventID: 1128, Level: 2, TimeCreated: t0.AddDate(0, 0, d).Add(time.Minute), Channel: "System", Computer: "RDSH16.corp.example"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rdsh2019Export is a 2019 host's events saved as XML from Event Viewer
// (UTF-16 with a byte-order mark): rendered with Event.XML() from events the
// project's encoder wrote and its decoder read.
func rdsh2019Export(t testing.TB) []byte {
	var buf bytes.Buffer
	w := writer.New(&buf)
	t0 := time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)
	for i, client := range []string{"THIN-01", "THIN-02", "THIN-01"} {
		w.Write(writer.Record{Provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager", ProviderGUID: rcmGUID,
			EventID: 50180, Level: 3, TimeCreated: t0.Add(time.Duration(i) * time.Hour),
			Channel: "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin", Computer: "RDSH19.corp.example",
			Payload: writer.EventXML(writer.String(client))})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	doc.WriteString("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>")
	_, err := evtx.Decode(bytes.NewReader(buf.Bytes()), "rdsh19", evtx.Options{KeepTree: true}, func(e *evtx.Event) error {
		doc.WriteString(e.XML())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc.WriteString("</Events>")
	u := utf16.Encode([]rune("\ufeff" + doc.String()))
	out := make([]byte, 0, 2*len(u))
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}

func supportBundle(t testing.TB) []byte {
	return gz(tarOf(t,
		member{"TS2003/SysEvent.Evt", ts2003Log(t)},
		member{"TS2003/termsrv.reg", []byte("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server]\r\n")},
		member{"RDSH16/System.evtx", rdsh2016Log(t)},
		member{"RDSH19/rcm-admin.xml", rdsh2019Export(t)},
		member{"case-notes.txt", []byte("Users report RDP licensing errors on three session hosts.\n")},
	))
}

// TestSupportBundleFixture keeps testdata/support-bundle.tgz (used by the
// README and CLI tests) identical to what the generators above write, and
// checks what a walk reads from it.
func TestSupportBundleFixture(t *testing.T) {
	b := supportBundle(t)
	if *update {
		os.MkdirAll(filepath.Dir(fixture), 0o755)
		if err := os.WriteFile(fixture, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(fixture)
	if err != nil || !bytes.Equal(committed, b) {
		t.Fatalf("%s is stale or missing (%v); regenerate with go test ./evtx/source -run Fixture -update", fixture, err)
	}
	r := walk(t, []string{fixture}, Options{})
	if r.err != nil || r.st.Files != 3 || len(r.st.Skipped) != 2 || len(r.st.Unreadable) != 0 || len(r.st.Damages) != 0 {
		t.Fatalf("err %v, stats %+v", r.err, r.st)
	}
	perFile := map[string]map[string]int{}
	var ts []*evtx.Event
	for _, e := range r.events {
		if perFile[e.File] == nil {
			perFile[e.File] = map[string]int{}
		}
		perFile[e.File][fmt.Sprintf("%s %d", e.Provider, e.EventID)]++
		if e.File == fixture+"!TS2003/SysEvent.Evt" {
			ts = append(ts, e)
		}
	}
	rcm := "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	if want := map[string]int{"Service Control Manager 7036": 3, rcm + " 1128": 3}; !reflect.DeepEqual(perFile[fixture+"!RDSH16/System.evtx"], want) {
		t.Fatalf("RDSH16: %v", perFile)
	}
	if want := map[string]int{rcm + " 50180": 3}; !reflect.DeepEqual(perFile[fixture+"!RDSH19/rcm-admin.xml"], want) {
		t.Fatalf("RDSH19: %v", perFile)
	}
	// The 2003 log wrapped: what is left is the newest records, in order,
	// ending with the three 1008s after the full countdown.
	tsCount := perFile[fixture+"!TS2003/SysEvent.Evt"]
	if tsCount["TermService 1008"] != 3 || tsCount["TermService 1009"] != 14 || ts[0].RecordID == 1 {
		t.Fatalf("TS2003: %v, first record %d", tsCount, ts[0].RecordID)
	}
	for i := 1; i < len(ts); i++ {
		if ts[i].RecordID != ts[i-1].RecordID+1 {
			t.Fatalf("TS2003: record %d follows %d", ts[i].RecordID, ts[i-1].RecordID)
		}
	}
}
