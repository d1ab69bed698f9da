package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
)

// legacyEVT writes a Windows 2003 terminal server's System.evt: the 1009
// countdown for a week, then 1008 (grace period expired), among service
// noise. Classic TermService ids carry their severity in the high word.
func legacyEVT(t *testing.T) []byte {
	t.Helper()
	var recs []evtenc.Record
	base := time.Date(2007, 1, 8, 6, 0, 0, 0, time.UTC)
	for d := 0; d < 8; d++ {
		day := base.AddDate(0, 0, d)
		recs = append(recs, evtenc.Record{Time: day, EventID: 0x80001775, Type: evtenc.Information, Source: "EventLog", Strings: []string{}, Computer: "W2K3TS"})
		if d < 7 {
			recs = append(recs, evtenc.Record{Time: day.Add(time.Hour), EventID: 0x800003F1, Type: evtenc.Warning,
				Source: "TermService", Computer: "W2K3TS", Strings: []string{"1/15/2007"}})
		}
	}
	recs = append(recs, evtenc.Record{Time: base.AddDate(0, 0, 7).Add(2 * time.Hour), EventID: 0xC00003F0, Type: evtenc.Error,
		Source: "TermService", Computer: "W2K3TS"})
	data, err := evtenc.Encode(recs, evtenc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func tgz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[name])
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func sortedKeys(m map[string][]byte) []string { return slices.Sorted(maps.Keys(m)) }

// Every kind of input reaches the same diagnosis through `tsdiag scan`:
// a legacy .evt, a folder of EVTX, a .tar.gz bundle holding both, with the
// file names lying about their formats.
func TestScanInputKinds(t *testing.T) {
	farmDir(t)
	evt := legacyEVT(t)
	writeFixtureFile(t, "w2k3/SysEvent.evt", string(evt))
	farm, _ := os.ReadFile("farm.evtx")
	writeFixtureFile(t, "dir/a/b/System.evtx", string(farm))
	writeFixtureFile(t, "dir/readme.txt", "not a log")
	writeFixtureFile(t, "bundle.tgz", string(tgz(t, map[string][]byte{
		"srv/legacy.log": evt,  // an .evt under another name
		"srv/system.dat": farm, // an .evtx under another name
		"srv/notes.md":   []byte("# notes"),
		"srv/export.xml": []byte(xmlExport(healthyEvents(), true)),
	})))

	cases := []struct {
		input string
		first string
		host  string
	}{
		{"w2k3/SysEvent.evt", "grace-period-expired", "W2K3TS"},
		{"dir", "rdsh-certificate-invalid", "RDSH02.contoso.com"},
	}
	for _, c := range cases {
		rep := scanReport(t, scanOptions{Inputs: []string{c.input}})
		if len(rep.Findings) == 0 || rep.Findings[0].ID != c.first || rep.Findings[0].Group["host"] != c.host {
			t.Errorf("%s: findings %v", c.input, ids(rep))
		}
	}
	rep := scanReport(t, scanOptions{Inputs: []string{"bundle.tgz"}})
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.ID] = true
		for _, e := range f.Evidence {
			if !strings.HasPrefix(e.File, "bundle.tgz!srv/") {
				t.Errorf("evidence file %q", e.File)
			}
		}
	}
	if !got["grace-period-expired"] || !got["rdsh-certificate-invalid"] || rep.Stats.Files != 3 || len(rep.Stats.Skipped) != 1 {
		t.Errorf("bundle: findings %v, files %d, skipped %v", ids(rep), rep.Stats.Files, rep.Stats.Skipped)
	}
	// Each host is diagnosed on its own: the 2003 server's expiry and the
	// 2019 farm's problems stay apart.
	for _, f := range rep.Findings {
		if f.ID == "grace-period-expired" && f.Group["host"] != "W2K3TS" {
			t.Errorf("grace-period-expired grouped as %v", f.Group)
		}
	}
}

func TestColourFlag(t *testing.T) {
	farmDir(t)
	_, plain, _ := scanCLI(t, "", "scan", "--fail-on", "none", "farm.evtx")
	_, always, _ := scanCLI(t, "", "scan", "--fail-on", "none", "--color", "always", "farm.evtx")
	t.Setenv("NO_COLOR", "1")
	_, noColor, _ := scanCLI(t, "", "scan", "--fail-on", "none", "farm.evtx")
	if strings.Contains(plain, "\x1b[") || strings.Contains(noColor, "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
	if !strings.Contains(always, "\x1b[") {
		t.Error("--color always wrote no colour")
	}
	if code, _, stderr := scanCLI(t, "", "scan", "--color", "sometimes", "farm.evtx"); code != 2 || !strings.Contains(stderr, "--color") {
		t.Errorf("bad --color: exit %d %s", code, stderr)
	}
}

// No progress bar when stderr is not a terminal; when it is one the bar
// shows bytes and files.
func TestProgressOnlyOnTerminal(t *testing.T) {
	if newProgress(&bytes.Buffer{}) != nil {
		t.Fatal("progress bar for a buffer")
	}
	farmDir(t)
	_, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "farm.evtx")
	if strings.Contains(stderr, "scanning") || strings.Contains(stderr, "\r") {
		t.Errorf("progress output on a non-terminal: %q", stderr)
	}
}
