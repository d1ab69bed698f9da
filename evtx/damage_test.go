package evtx

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// chunkSig is what decoding one chunk produced, independent of where the
// chunk sits in the file: a chunk's decoding depends on its bytes only.
func chunkSigs(evs []*Event) map[int64]string {
	per := map[int64][]string{}
	for _, e := range evs {
		idx := (e.Offset - format.FileHeaderSize) / format.ChunkSize
		rel := (e.Offset - format.FileHeaderSize) % format.ChunkSize
		per[idx] = append(per[idx], fmt.Sprintf("%d/%d/%d/%s/%q", rel, e.RecordID, e.EventID, e.Provider, e.Params))
	}
	out := map[int64]string{}
	for k, v := range per {
		out[k] = strings.Join(v, "\n")
	}
	return out
}

// decodeBounded decodes b on a goroutine and fails the test when it takes
// longer than limit (a hang) or panics.
func decodeBounded(t *testing.T, name string, b []byte, limit time.Duration) ([]*Event, Stats, error) {
	t.Helper()
	type result struct {
		evs []*Event
		st  Stats
		err error
		pan any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.pan = recover()
			done <- r
		}()
		r.st, r.err = Decode(bytes.NewReader(b), name, Options{}, func(e *Event) error {
			r.evs = append(r.evs, e)
			return nil
		})
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.pan != nil {
			t.Fatalf("%s: panic escaped the decoder: %v", name, r.pan)
		}
		return r.evs, r.st, r.err
	case <-timer.C:
		t.Fatalf("%s: decode still running after %v (hang)", name, limit)
	}
	return nil, Stats{}, nil
}

// checkedRegions lists, for each chunk of the original whose checksums
// are valid (checked here with crc32 directly), the byte ranges its
// checksums cover: a change there must be reported as damage.
func checkedRegions(b []byte) [][2]int {
	var out [][2]int
	for off := format.FileHeaderSize; off+format.ChunkSize <= len(b); off += format.ChunkSize {
		c := b[off : off+format.ChunkSize]
		if string(c[:8]) != format.ChunkMagic {
			continue
		}
		free := int(le32(c[48:]))
		if free < 512 || free > format.ChunkSize {
			continue
		}
		hdr := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:512])
		if hdr != le32(c[124:]) || crc32.ChecksumIEEE(c[512:free]) != le32(c[52:]) {
			continue
		}
		out = append(out, [2]int{off, off + 120}, [2]int{off + 128, off + free})
	}
	return out
}

type mutation struct {
	kind    string
	data    []byte
	flipped []int // byte offsets changed by bit flips
}

func mutate(rng *rand.Rand, orig []byte, i int) mutation {
	b := append([]byte(nil), orig...)
	chunks := (len(b) - format.FileHeaderSize) / format.ChunkSize
	switch i % 5 {
	case 0:
		m := mutation{kind: "bitflips", data: b}
		for n := 1 + rng.Intn(8); n > 0; n-- {
			off := rng.Intn(len(b))
			b[off] ^= 1 << rng.Intn(8)
			m.flipped = append(m.flipped, off)
		}
		return m
	case 1:
		return mutation{kind: "truncated", data: b[:rng.Intn(len(b))]}
	case 2:
		if chunks > 0 {
			off := format.FileHeaderSize + rng.Intn(chunks)*format.ChunkSize
			clear(b[off : off+format.ChunkSize])
		}
		return mutation{kind: "zeroed chunk", data: b}
	case 3:
		if chunks > 1 {
			x, y := rng.Intn(chunks), rng.Intn(chunks)
			cx := append([]byte(nil), b[format.FileHeaderSize+x*format.ChunkSize:][:format.ChunkSize]...)
			copy(b[format.FileHeaderSize+x*format.ChunkSize:][:format.ChunkSize], b[format.FileHeaderSize+y*format.ChunkSize:][:format.ChunkSize])
			copy(b[format.FileHeaderSize+y*format.ChunkSize:][:format.ChunkSize], cx)
		}
		return mutation{kind: "chunks swapped", data: b}
	default:
		// a burst of random bytes inside one chunk's records
		if chunks > 0 {
			off := format.FileHeaderSize + rng.Intn(chunks)*format.ChunkSize + 512 + rng.Intn(format.ChunkSize-1024)
			rng.Read(b[off : off+1+rng.Intn(512)])
		}
		return mutation{kind: "garbage burst", data: b}
	}
}

// TestMutatedCorpus decodes 10 mutated copies of every corpus file (bit
// flips, truncations, zeroed chunks, swapped chunks, garbage bursts):
// no panic, no hang, and every chunk left intact decodes exactly as in
// the original, wherever it now sits.
func TestMutatedCorpus(t *testing.T) {
	dir := corpusDir(t)
	names := make([]string, 0)
	for n := range manifest(t) {
		names = append(names, n)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewSource(20261123))
	copies := 0
	for _, name := range names {
		orig, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		evs, _, err := decodeBounded(t, name, orig, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sigs := chunkSigs(evs)
		origChunk := map[string]int64{}
		for off := format.FileHeaderSize; off+format.ChunkSize <= len(orig); off += format.ChunkSize {
			origChunk[string(orig[off:off+format.ChunkSize])] = int64((off - format.FileHeaderSize) / format.ChunkSize)
		}
		regions := checkedRegions(orig)
		for i := 0; i < 10; i++ {
			m := mutate(rng, orig, i)
			label := fmt.Sprintf("%s copy %d (%s)", name, i, m.kind)
			mevs, st, err := decodeBounded(t, label, m.data, 30*time.Second)
			copies++
			if err != nil {
				if errors.Is(err, ErrNotEVTX) && (len(m.data) < format.FileHeaderSize+8 || string(m.data[:8]) != format.FileMagic) {
					continue // too little left to be EVTX: a clear error, not a crash
				}
				t.Fatalf("%s: %v", label, err)
			}
			msigs := chunkSigs(mevs)
			for off := format.FileHeaderSize; off+format.ChunkSize <= len(m.data); off += format.ChunkSize {
				j := int64((off - format.FileHeaderSize) / format.ChunkSize)
				src, ok := origChunk[string(m.data[off:off+format.ChunkSize])]
				if ok && msigs[j] != sigs[src] {
					t.Errorf("%s: intact chunk %d (originally %d) decoded differently:\n%.300s\nwant\n%.300s", label, j, src, msigs[j], sigs[src])
				}
			}
			if m.kind == "bitflips" && flippedChecked(m.flipped, regions) && len(st.Damages) == 0 {
				t.Errorf("%s: bytes under a valid checksum changed at %v but no damage was reported", label, m.flipped)
			}
		}
	}
	t.Logf("%d mutated copies decoded", copies)
}

func flippedChecked(offs []int, regions [][2]int) bool {
	for _, o := range offs {
		for _, r := range regions {
			if o >= r[0] && o < r[1] {
				return true
			}
		}
	}
	return false
}

// TestDamageReported checks specific damage on real bytes: offsets and
// reasons, and that the rest of the file is still read.
func TestDamageReported(t *testing.T) {
	dir := corpusDir(t)
	orig, err := os.ReadFile(filepath.Join(dir, "system.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	full, fst, _ := decodeBounded(t, "system.evtx", orig, 30*time.Second)
	if len(fst.Damages) != 0 || len(full) == 0 {
		t.Fatalf("clean file reported damage: %v", fst.Damages)
	}
	perChunk := chunkSigs(full)

	t.Run("bad chunk magic", func(t *testing.T) {
		b := append([]byte(nil), orig...)
		copy(b[format.FileHeaderSize+format.ChunkSize:], "XXXXXXXX")
		evs, st, err := decodeBounded(t, "magic", b, 30*time.Second)
		if err != nil || st.DamagedChunks != 1 || len(st.Damages) != 1 || st.Damages[0].Offset != format.FileHeaderSize+format.ChunkSize ||
			!strings.Contains(st.Damages[0].Reason, "bad chunk signature") {
			t.Fatalf("err %v, stats %+v", err, st)
		}
		want := len(full) - strings.Count(perChunk[1], "\n") - 1
		if len(evs) != want {
			t.Fatalf("%d events, want %d (all but chunk 1)", len(evs), want)
		}
	})
	t.Run("truncated record", func(t *testing.T) {
		b := orig[:format.FileHeaderSize+format.ChunkSize+20000]
		evs, st, err := decodeBounded(t, "trunc", b, 30*time.Second)
		if err != nil || st.DamagedChunks == 0 || len(evs) <= strings.Count(perChunk[0], "\n") {
			t.Fatalf("err %v, %d events, stats %+v", err, len(evs), st)
		}
		found := false
		for _, d := range st.Damages {
			found = found || strings.Contains(d.Reason, "truncated")
		}
		if !found {
			t.Fatalf("no truncation reported: %v", st.Damages)
		}
	})
	t.Run("bad template offset", func(t *testing.T) {
		b := append([]byte(nil), orig...)
		// First record's template instance: 0x0f 01 01 00 | 0x0c 01 id(4) offset(4)
		rec := format.FileHeaderSize + 512
		tok := rec + 24 + 4
		if b[tok] != format.TokTemplate {
			t.Skipf("first record does not start with a template instance")
		}
		putLE32(b[tok+6:], 0xfff0)
		evs, st, err := decodeBounded(t, "tmpl", b, 30*time.Second)
		if err != nil || st.DamagedRecords != 1 || len(evs) != len(full)-1 {
			t.Fatalf("err %v, %d events of %d, stats %+v", err, len(evs), len(full), st)
		}
		if st.Damages[len(st.Damages)-1].Offset != int64(rec) {
			t.Fatalf("damage offset %d, want %d: %v", st.Damages[len(st.Damages)-1].Offset, rec, st.Damages)
		}
	})
	t.Run("not evtx", func(t *testing.T) {
		_, err := Decode(strings.NewReader("PK\x03\x04 not a log"), "x.zip", Options{}, nil)
		if !errors.Is(err, ErrNotEVTX) || !strings.Contains(err.Error(), "x.zip") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("fn error stops", func(t *testing.T) {
		stop := errors.New("enough")
		decodes := map[string]func(fn func(*Event) error) error{
			"sequential": func(fn func(*Event) error) error {
				_, err := Decode(bytes.NewReader(orig), "s", Options{}, fn)
				return err
			},
			"parallel file": func(fn func(*Event) error) error {
				_, err := DecodeFile(filepath.Join(dir, "system.evtx"), Options{Workers: 2}, fn)
				return err
			},
			"parallel stream": func(fn func(*Event) error) error {
				_, err := Decode(bytes.NewReader(orig), "s", Options{Workers: 2}, fn)
				return err
			},
		}
		for name, decode := range decodes {
			n := 0
			err := decode(func(*Event) error {
				if n++; n == 3 {
					return stop
				}
				return nil
			})
			if err != stop || n != 3 {
				t.Fatalf("%s: err %v after %d events", name, err, n)
			}
		}
	})
	t.Run("read error mid-stream", func(t *testing.T) {
		// The stream fails inside its third chunk: the two whole chunks and
		// the part of the third read are decoded, then the error is returned
		// with its offset, sequentially and in parallel alike.
		cut := format.FileHeaderSize + 2*format.ChunkSize + 1000
		fail := errors.New("device went away")
		for _, workers := range []int{0, 2} {
			var ids []uint64
			r := io.MultiReader(bytes.NewReader(orig[:cut]), &failingReader{fail})
			st, err := Decode(r, "s", Options{Workers: workers}, func(e *Event) error {
				ids = append(ids, e.RecordID)
				return nil
			})
			if !errors.Is(err, fail) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", cut)) {
				t.Fatalf("workers %d: err %v, want the read error at offset %d", workers, err, cut)
			}
			whole := 0
			for _, e := range events(t, orig) {
				if e.Offset+int64(le32(orig[e.Offset+4:])) <= int64(format.FileHeaderSize+2*format.ChunkSize) {
					whole++
				}
			}
			if len(ids) < whole || st.Bytes != int64(cut) {
				t.Fatalf("workers %d: %d events, %d bytes; want at least the %d of the whole chunks, %d bytes",
					workers, len(ids), st.Bytes, whole, cut)
			}
		}
	})
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

func events(t *testing.T, b []byte) []*Event {
	t.Helper()
	var evs []*Event
	if _, err := Decode(bytes.NewReader(b), "s", Options{}, func(e *Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// Issue #19: a log of nothing but "record size 0" every 8 bytes had kept
// every damage in memory (385 MB for 16 MB). Damage is counted without
// bound but kept in detail only up to MaxDamagesPerFile per file, and the
// intact chunks of the same file are still read.
func TestDamageKeptUpToCap(t *testing.T) {
	dir := corpusDir(t)
	orig, err := os.ReadFile(filepath.Join(dir, "system.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	full, _, _ := decodeBounded(t, "system.evtx", orig, 30*time.Second)
	perChunk := chunkSigs(full)
	b := append([]byte(nil), orig...)
	const chunks = 2
	for c := 0; c < chunks; c++ {
		start := format.FileHeaderSize + c*format.ChunkSize + format.ChunkHeaderSize
		for off := start; off+8 <= format.FileHeaderSize+(c+1)*format.ChunkSize; off += 8 {
			copy(b[off:], "**\x00\x00\x00\x00\x00\x00")
		}
	}
	path := filepath.Join(t.TempDir(), "bomb.evtx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		var evs []*Event
		st, err := DecodeFile(path, Options{Workers: workers}, func(e *Event) error {
			evs = append(evs, e)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Up to each chunk's free-space offset, every 8 bytes is a damaged record.
		if st.DamagedRecords < chunks*7000 {
			t.Fatalf("workers %d: %d damaged records counted, want thousands per chunk", workers, st.DamagedRecords)
		}
		if len(st.Damages) != MaxDamagesPerFile || len(st.Damages)+st.DamagesOmitted < st.DamagedRecords {
			t.Fatalf("workers %d: %d damages kept, %d omitted, %d damaged records", workers, len(st.Damages), st.DamagesOmitted, st.DamagedRecords)
		}
		want := len(full)
		for c := 0; c < chunks; c++ {
			want -= strings.Count(perChunk[int64(c)], "\n") + 1
		}
		if len(evs) != want {
			t.Fatalf("workers %d: %d events from the intact chunks, want %d", workers, len(evs), want)
		}
	}
}
