package engine

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// The numbers: a log and a copy of it must not turn 7 invalid
// licence events into 14.
func TestSameFileTwiceCountsOnce(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	a := genFile(t, dir, "a.evtx", "dup-invalid-license-2019")
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "copy-of-a.evtx")
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	one, st1 := scan(t, set, Options{}, a)
	two, st2 := scan(t, set, Options{}, a, b)
	if len(one) != 1 || one[0].Count != 7 || st1.Duplicates != 0 {
		t.Fatalf("one copy: %v count %d, %d duplicates", keysOf(one), one[0].Count, st1.Duplicates)
	}
	if len(two) != 1 || two[0].Count != 7 {
		t.Fatalf("two copies: %v, count %d, want one finding of 7", keysOf(two), two[0].Count)
	}
	sel := selectedIn(t, set, a)
	if st2.Duplicates != sel || st2.DuplicatesByFile[b] != sel || len(st2.DuplicatesByFile) != 1 {
		t.Fatalf("duplicates %d by file %v, want %d all from %s", st2.Duplicates, st2.DuplicatesByFile, sel, b)
	}
	if js(t, one[0].Evidence) != js(t, two[0].Evidence) {
		t.Errorf("evidence differs with the copy: the copy's records must be set aside")
	}
}

// A single 21 (count = 1) is no exhaustion; given twice it must not become
// a CRITICAL cal-pool-exhausted with refusals=2. Two distinct refusals do
// fire (the trap the other way round).
func TestSingleRefusalTwiceIsNoExhaustion(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	a := genFile(t, dir, "System.evtx", "dup-cal-refusal-2016")
	data, _ := os.ReadFile(a)
	b := filepath.Join(dir, "System-copy.evtx")
	os.WriteFile(b, data, 0o644)
	if fs, _ := scan(t, set, Options{}, a, b); len(aboveInfo(fs)) != 0 {
		t.Fatalf("the same refusal twice gave %v", aboveInfo(fs))
	}
	twice := writeEVTX(t, filepath.Join(dir, "two.evtx"), scenarioRecords(t, "dup-cal-refusal-2016", func(s string) string {
		return strings.Replace(s, `at = "2d10:00"`, "at = \"2d10:00\"\nevery = \"2h\"\ncount = 2", 1)
	}))
	fs, _ := scan(t, set, Options{}, twice)
	pool := byID(fs, "cal-pool-exhausted")
	if len(pool) != 1 || pool[0].Facts["refusals"] != 2 {
		t.Fatalf("two distinct refusals: %v", keysOf(fs))
	}
}

// Overlapping rotated logs: Archive-System-*.evtx holds the older two
// thirds, System.evtx the newer two thirds, with the record ids Windows
// gave them. Together they must diagnose exactly as the whole log.
func TestOverlappingRotatedLogs(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	recs := numbered(scenarioRecords(t, "multi-client-ls-stopped-2019", nil))
	whole := writeEVTX(t, filepath.Join(dir, "whole.evtx"), recs)
	n := len(recs)
	arch := writeEVTX(t, filepath.Join(dir, "Archive-System-2024-01-15.evtx"), recs[:2*n/3])
	cur := writeEVTX(t, filepath.Join(dir, "System.evtx"), recs[n/3:])
	want, _ := scan(t, set, Options{}, whole)
	got, st := scan(t, set, Options{}, arch, cur)
	if st.Duplicates == 0 {
		t.Fatal("no duplicates recognised in the overlap")
	}
	if len(got) != len(want) {
		t.Fatalf("rotated: %v, whole: %v", keysOf(got), keysOf(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || got[i].Count != want[i].Count || got[i].Severity != want[i].Severity {
			t.Errorf("finding %d: %s count %d, whole log %s count %d", i, got[i].Key, got[i].Count, want[i].Key, want[i].Count)
		}
	}
}

// The same records from an .evtx and from an XML export of it count once;
// so do two exports without record ids (content identifies them).
func TestEVTXBesideItsXMLExport(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	a := genFile(t, dir, "System.evtx", "dup-invalid-license-2019")
	x := xmlExport(t, a, filepath.Join(dir, "System.xml"), false)
	want, _ := scan(t, set, Options{}, a)
	got, st := scan(t, set, Options{}, a, x)
	sel := selectedIn(t, set, a)
	if len(got) != 1 || got[0].Count != want[0].Count || st.Duplicates != sel || st.DuplicatesByFile[x] != sel {
		t.Fatalf("evtx + xml: %v count %d, duplicates %v; want count %d, %d duplicates from the XML",
			keysOf(got), got[0].Count, st.DuplicatesByFile, want[0].Count, sel)
	}
	x1 := xmlExport(t, a, filepath.Join(dir, "noids1.xml"), true)
	x2 := xmlExport(t, a, filepath.Join(dir, "noids2.xml"), true)
	got, st = scan(t, set, Options{}, x1, x2)
	if len(got) != 1 || got[0].Count != 7 || st.Duplicates != sel {
		t.Fatalf("two exports without record ids: %v, %d duplicates", keysOf(got), st.Duplicates)
	}
}

// Different records that share time, id and host are not duplicates: the
// payload is part of the key (two clients refused in the same second of a
// hand-made log without record ids).
func TestDistinctRecordsAreNotDuplicates(t *testing.T) {
	set := builtinSet(t)
	e := New(set, Options{})
	at := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	for _, c := range []string{"WS-1", "WS-2", "WS-3"} {
		e.Feed(&evtx.Event{Provider: rcm, EventID: 1003, TimeCreated: at, Computer: "RDSH01", Params: []string{c}, File: "x"})
	}
	fs := e.Finish()
	if e.Stats().Duplicates != 0 || len(fs) != 1 || fs[0].Facts["client_count"] != 3 {
		t.Fatalf("duplicates %d, findings %v", e.Stats().Duplicates, keysOf(fs))
	}
}

// Memory stays bounded: past the cap new records are not remembered and
// the engine says so instead of silently counting copies twice.
func TestDedupCapIsReported(t *testing.T) {
	set := builtinSet(t)
	e := New(set, Options{})
	e.dedup = newDedup()
	e.dedup.max = 10
	at := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 25; i++ {
		e.Feed(&evtx.Event{Provider: rcm, EventID: 1003, TimeCreated: at.Add(time.Duration(i) * time.Minute),
			Computer: "RDSH01", Params: []string{"WS-1"}, RecordID: uint64(i + 1), File: "x"})
	}
	// The first ten are remembered: their copies are recognised.
	e.Feed(&evtx.Event{Provider: rcm, EventID: 1003, TimeCreated: at, Computer: "RDSH01", Params: []string{"WS-1"}, RecordID: 1, File: "y"})
	st := e.Stats()
	if e.dedup.size() != 10 || st.DedupUnchecked != 15 || st.Duplicates != 1 {
		t.Fatalf("held %d, unchecked %d, duplicates %d", e.dedup.size(), st.DedupUnchecked, st.Duplicates)
	}
}

// The sorted runs answer like a plain set: every hash merged or recent is
// found, others are not, across many merges.
func TestDedupRunsMatchASet(t *testing.T) {
	d := newDedup()
	ref := map[uint64]bool{}
	at := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	mk := func(i int) *evtx.Event {
		return &evtx.Event{Provider: rcm, EventID: 1003, TimeCreated: at.Add(time.Duration(i) * time.Second), Computer: "H", RecordID: uint64(i)}
	}
	n := 6*dedupRun + 123 // every other record: three merges and some recent
	for i := 0; i < n; i += 2 {
		if dup, _ := d.seenBefore(mk(i)); dup {
			t.Fatalf("record %d new but reported seen", i)
		}
		ref[d.key(mk(i))] = true
	}
	if len(d.sorted) < 2*dedupRun || d.size() != len(ref) {
		t.Fatalf("sorted %d recent %d, want %d merged into runs", len(d.sorted), len(d.recent), len(ref))
	}
	for i := 0; i < n; i++ {
		dup, _ := d.seenBefore(mk(i))
		if dup != (i%2 == 0) {
			t.Fatalf("record %d: seen %v", i, dup)
		}
	}
	if !slices.IsSorted(d.sorted) {
		t.Fatal("runs not sorted")
	}
}

// A support bundle holding the log twice (System.evtx beside a shadow
// copy) counts each record once; the copy's member is named.
func TestBundleWithACopyCountsOnce(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	data, err := os.ReadFile(genFile(t, dir, "s.evtx", "dup-invalid-license-2019"))
	if err != nil {
		t.Fatal(err)
	}
	zp := filepath.Join(dir, "bundle.zip")
	f, err := os.Create(zp)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, name := range []string{"Logs/System.evtx", "Logs/ShadowCopy1/System.evtx"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fs, st := scan(t, set, Options{}, zp)
	if len(fs) != 1 || fs[0].Count != 7 || st.Duplicates == 0 || len(st.DuplicatesByFile) != 1 {
		t.Fatalf("%v count %d, duplicates %v", keysOf(fs), fs[0].Count, st.DuplicatesByFile)
	}
	for name := range st.DuplicatesByFile {
		if !strings.Contains(name, "bundle.zip") || !strings.Contains(name, "System.evtx") {
			t.Errorf("duplicates counted under %q, want the bundle member", name)
		}
	}
}
