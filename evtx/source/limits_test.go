package source

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// bombLog is a legacy log header followed by megabytes of zeros: it is
// detected as a log, so the walker really reads (and meters) it.
func bombLog(t testing.TB, mib int) []byte {
	return append(evtLog(t, "BOMB", 1), make([]byte, mib<<20)...)
}

func TestZipBombRatio(t *testing.T) {
	good := evtLog(t, "OK", 2)
	for name, b := range map[string][]byte{
		"bomb.zip": zipOf(t, member{"a/SysEvent.Evt", good}, member{"bomb/SysEvent.Evt", bombLog(t, 24)}, member{"z/SysEvent.Evt", good}),
		"bomb.tgz": gz(tarOf(t, member{"a/SysEvent.Evt", good}, member{"bomb/SysEvent.Evt", bombLog(t, 24)})),
	} {
		p := write(t, t.TempDir(), name, b)
		r := walk(t, []string{p}, Options{})
		if len(r.st.Unreadable) != 1 || !strings.Contains(r.st.Unreadable[0].Reason, "MaxRatio") {
			t.Fatalf("%s: unreadable %+v", name, r.st.Unreadable)
		}
		if n := countByFile(r.files)[p+"!a/SysEvent.Evt"]; n != 2 {
			t.Fatalf("%s: members before the bomb not read (%v)", name, countByFile(r.files))
		}
	}
	// The same member is fine when the limit allows it.
	p := write(t, t.TempDir(), "bomb.zip", zipOf(t, member{"bomb/SysEvent.Evt", bombLog(t, 24)}))
	if r := walk(t, []string{p}, Options{MaxRatio: 5000}); len(r.st.Unreadable) != 0 || len(r.events) != 1 {
		t.Fatalf("raised ratio: %+v, %d events", r.st.Unreadable, len(r.events))
	}
}

func TestMemberCount(t *testing.T) {
	var ms []member
	for i := 0; i < 5; i++ {
		ms = append(ms, member{fmt.Sprintf("m%d.evt", i), evtLog(t, "H", 1)})
	}
	for name, b := range map[string][]byte{"many.zip": zipOf(t, ms...), "many.tar": tarOf(t, ms...)} {
		p := write(t, t.TempDir(), name, b)
		r := walk(t, []string{p}, Options{MaxMembers: 3})
		if len(r.events) != 3 || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p ||
			!strings.Contains(r.st.Unreadable[0].Reason, "more than 3 files (MaxMembers)") {
			t.Fatalf("%s: %d events, %+v", name, len(r.events), r.st.Unreadable)
		}
	}
}

func TestArchiveBytes(t *testing.T) {
	log := evtLog(t, "H", 3)
	p := write(t, t.TempDir(), "big.tar", tarOf(t, member{"a.evt", log}, member{"b.evt", log}, member{"c.evt", log}))
	r := walk(t, []string{p}, Options{MaxArchiveBytes: int64(len(log)*2 - 10)})
	if len(r.events) != 3 || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p+"!b.evt" ||
		!strings.Contains(r.st.Unreadable[0].Reason, "MaxArchiveBytes") {
		t.Fatalf("%d events, %+v", len(r.events), r.st.Unreadable)
	}
}

func TestTruncatedBundles(t *testing.T) {
	ms := []member{{"a/SysEvent.Evt", evtLog(t, "A", 40)}, {"b/SysEvent.Evt", evtLog(t, "B", 40)}}
	tgz := gz(tarOf(t, ms...))
	p := write(t, t.TempDir(), "cut.tgz", tgz[:len(tgz)*2/3])
	r := walk(t, []string{p}, Options{})
	if r.err != nil || len(r.st.Unreadable) != 1 || countByFile(r.files)[p+"!a/SysEvent.Evt"] == 0 {
		t.Fatalf("truncated tgz: err %v, events %v, unreadable %+v", r.err, countByFile(r.files), r.st.Unreadable)
	}
	if u := r.st.Unreadable[0]; !strings.Contains(u.Reason, "truncated") {
		t.Fatalf("truncated tgz reason: %+v", u)
	}
	z := zipOf(t, ms...)
	p = write(t, t.TempDir(), "cut.zip", z[:len(z)-30])
	r = walk(t, []string{p}, Options{})
	if r.err == nil || len(r.st.Unreadable) != 1 || !strings.Contains(r.st.Unreadable[0].Reason, "corrupt or truncated zip") {
		t.Fatalf("truncated zip: err %v, %+v", r.err, r.st.Unreadable)
	}
}

// TestCorruptMember damages the compressed bytes of one member: that member
// is reported, the ones around it are read.
func TestCorruptMember(t *testing.T) {
	ms := []member{{"1.evt", evtLog(t, "A", 30)}, {"2.evt", evtLog(t, "B", 30)}, {"3.evt", evtLog(t, "C", 30)}}
	z := zipOf(t, ms...)
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	off, _ := zr.File[1].DataOffset()
	for i := off + 10; i < off+40; i++ {
		z[i] ^= 0x5a
	}
	p := write(t, t.TempDir(), "corrupt.zip", z)
	r := walk(t, []string{p}, Options{})
	got := countByFile(r.files)
	if r.err != nil || got[p+"!1.evt"] != 30 || got[p+"!3.evt"] != 30 || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p+"!2.evt" {
		t.Fatalf("err %v, events %v, unreadable %+v", r.err, got, r.st.Unreadable)
	}
}

func TestTruncatedLogInBundle(t *testing.T) {
	log := evtLog(t, "A", 30)
	p := write(t, t.TempDir(), "b.zip", zipOf(t, member{"cut.evt", log[:len(log)/2]}, member{"ok.evt", log}))
	r := walk(t, []string{p}, Options{})
	got := countByFile(r.files)
	if got[p+"!ok.evt"] != 30 || got[p+"!cut.evt"] == 0 || len(r.st.Damages) == 0 || r.st.Damages[0].File != p+"!cut.evt" {
		t.Fatalf("events %v, damages %+v", got, r.st.Damages)
	}
}

func FuzzArchiveWalk(f *testing.F) {
	ms := []member{{"logs/SysEvent.Evt", evtLog(f, "A", 2)}, {"x.xml", xmlExport("B", 1)}, {"n.txt", []byte("hi")}}
	f.Add(zipOf(f, ms...))
	f.Add(gz(tarOf(f, ms...)))
	f.Add(tarOf(f, ms...))
	f.Add(zipOf(f, member{"in.tgz", gz(tarOf(f, ms...))}))
	f.Add(evtLog(f, "A", 3))
	f.Add(xmlExport("B", 2))
	if b, err := os.ReadFile(fixture); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{Stdin: bytes.NewReader(b), MaxArchiveBytes: 8 << 20, MaxMembers: 50, MaxSpool: 4 << 20}
		var n int
		st, err := Walk([]string{"-"}, opts, func(e *evtx.Event) error {
			if e.File == "" {
				t.Fatal("event without a file name")
			}
			n++
			return nil
		})
		if err != nil && st.Files > 0 {
			t.Fatalf("error %v although %d logs were read", err, st.Files)
		}
		if n != st.Matched || reflect.ValueOf(st).IsZero() && err == nil {
			t.Fatalf("%d events delivered, stats %+v", n, st)
		}
	})
}

// TestTruncatedFiles cuts real logs short: each is listed as not completely
// read, and what it still holds is delivered.
func TestTruncatedFiles(t *testing.T) {
	files, want := corpusFiles(t)
	sys := files["system.evtx"]
	dir := t.TempDir()
	cut := write(t, dir, "cut/System.evtx", sys[:len(sys)-70000])
	log := evtLog(t, "A", 30)
	cutEvt := write(t, dir, "cut/SysEvent.Evt", log[:len(log)-150])
	x := xmlExport("X", 5)
	cutXML := write(t, dir, "cut/export.xml", x[:len(x)-100])
	for _, in := range []string{dir, write(t, t.TempDir(), "b.zip", zipOf(t, member{"System.evtx", sys[:len(sys)-70000]}))} {
		r := walk(t, []string{in}, Options{})
		got := countByFile(r.files)
		if r.err != nil || len(r.events) == 0 {
			t.Fatalf("%s: err %v, %v", in, r.err, got)
		}
		for _, u := range r.st.Unreadable {
			if !strings.Contains(u.Reason, "truncated") && !strings.Contains(u.Reason, "unexpected EOF") {
				t.Errorf("%s: reason does not say truncated: %+v", in, u)
			}
		}
		if in == dir {
			if len(r.st.Unreadable) != 3 || got[cut] < len(want["system.evtx"])-200 || got[cutEvt] < 28 || got[cutEvt] > 29 || got[cutXML] != 4 {
				t.Fatalf("directory: events %v (system.evtx whole: %d), unreadable %+v", got, len(want["system.evtx"]), r.st.Unreadable)
			}
		} else if len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != in+"!System.evtx" {
			t.Fatalf("zip: unreadable %+v", r.st.Unreadable)
		}
	}
}
