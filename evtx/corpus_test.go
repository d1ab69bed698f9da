package evtx

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// corpusDir is ../shared/corpus/evtx-samples relative to the repo root.
func corpusDir(t testing.TB) string {
	dir := filepath.Join("..", "..", "shared", "corpus", "evtx-samples")
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Skipf("shared corpus absent (%v): corpus tests skipped", err)
	}
	return dir
}

// manifest reads MANIFEST.tsv: file name → expected record count.
func manifest(t testing.TB) map[string]int {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		n, err := strconv.Atoi(cols[1])
		if err != nil {
			t.Fatalf("MANIFEST.tsv: %q: %v", line, err)
		}
		m[cols[0]] = n
	}
	if len(m) == 0 {
		t.Fatal("MANIFEST.tsv lists no files")
	}
	return m
}

type recKey struct {
	off int64
	id  uint64
}

func decodeAll(t testing.TB, path string, opts Options) ([]*Event, Stats) {
	t.Helper()
	var evs []*Event
	st, err := DecodeFile(path, opts, func(e *Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return evs, st
}

func TestCorpusRecordCounts(t *testing.T) {
	dir := corpusDir(t)
	for name, want := range manifest(t) {
		path := filepath.Join(dir, name)
		evs, st := decodeAll(t, path, Options{})
		if st.Records < want || len(evs) != st.Records || st.Matched != st.Records {
			t.Errorf("%s: %d records decoded (%d passed), MANIFEST expects at least %d; damages %v",
				name, st.Records, len(evs), want, st.Damages)
		}
		// The streaming reader (no ReaderAt) and the parallel path must
		// yield the same events in the same order.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var streamed []recKey
		sst, err := Decode(bufio.NewReader(f), name, Options{}, func(e *Event) error {
			streamed = append(streamed, recKey{e.Offset, e.RecordID})
			return nil
		})
		f.Close()
		if err != nil || sst.Records != st.Records || sst.DamagedRecords != st.DamagedRecords {
			t.Errorf("%s: streaming decode differs: %v %+v vs %+v", name, err, sst, st)
		}
		par, pst := decodeAll(t, path, Options{Workers: 3})
		if pst.Records != st.Records || len(par) != len(evs) || len(streamed) != len(evs) {
			t.Errorf("%s: parallel decode: %d records vs %d", name, pst.Records, st.Records)
			continue
		}
		// A stream (archive member, stdin) decoded by several workers.
		f, err = os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var pstream []*Event
		psst, err := Decode(bufio.NewReader(f), path, Options{Workers: 3}, func(e *Event) error {
			pstream = append(pstream, e)
			return nil
		})
		f.Close()
		if err != nil || !reflect.DeepEqual(psst, st) || len(pstream) != len(evs) {
			t.Errorf("%s: parallel stream decode differs: %v %+v vs %+v", name, err, psst, st)
			continue
		}
		for i := range evs {
			if !reflect.DeepEqual(par[i], evs[i]) || !reflect.DeepEqual(pstream[i], evs[i]) ||
				streamed[i] != (recKey{evs[i].Offset, evs[i].RecordID}) {
				t.Errorf("%s: event %d differs between sequential, streaming and parallel decode", name, i)
				break
			}
		}
		t.Logf("%s: %d records (manifest %d), %d damaged records, %d damaged chunks", name, st.Records, want,
			st.DamagedRecords, st.DamagedChunks)
	}
}

// TestCorpusFilterPeek checks the filter's peek (provider and id read from
// the template instance, before any tree is built, with parse memory reused
// from record to record) against filtering the fully decoded events, on
// every corpus file, sequentially and in parallel.
func TestCorpusFilterPeek(t *testing.T) {
	dir := corpusDir(t)
	for name := range manifest(t) {
		path := filepath.Join(dir, name)
		all, ast := decodeAll(t, path, Options{})
		providers := map[string]bool{}
		for i, e := range all {
			if i%3 == 0 {
				providers[e.Provider] = true
			}
		}
		keep := func(p string, id uint16) bool { return providers[p] && id%2 == 0 }
		var want []*Event
		for _, e := range all {
			if keep(e.Provider, e.EventID) {
				want = append(want, e)
			}
		}
		for _, workers := range []int{0, 2} {
			got, st := decodeAll(t, path, Options{Filter: keep, Workers: workers})
			// A record damaged after its System part counts as decoded when
			// the filter rejects it from the peek, and as damaged otherwise.
			seen, wantSeen := st.Records+st.DamagedRecords, ast.Records+ast.DamagedRecords
			if seen != wantSeen || st.Matched != len(want) || len(got) != len(want) {
				t.Errorf("%s (workers %d): %d records seen, %d matched, %d delivered; want %d seen, %d matched",
					name, workers, seen, st.Matched, len(got), wantSeen, len(want))
				continue
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("%s (workers %d): event %d differs from the unfiltered decode", name, workers, i)
					break
				}
			}
		}
	}
}
