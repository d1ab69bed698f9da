package evtx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// Fuzz targets for the three entry points: a whole file, one chunk, one
// record. Seeds come from the shared corpus; crashers found are kept in
// testdata/fuzz/<Target>/ and replayed by `go test`.
//
//	go test ./evtx -run '^$' -fuzz FuzzDecodeFile -fuzztime 30s

func corpusFilesOrNil(f *testing.F) [][]byte {
	dir := filepath.Join("..", "..", "shared", "corpus", "evtx-samples")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	var out [][]byte
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			out = append(out, b)
		}
	}
	return out
}

// checkStats fails on a decode that hid a runtime error behind recover():
// those are missing bounds checks, which the fuzzer is here to find.
func checkStats(t *testing.T, st Stats) {
	if st.Matched > st.Records {
		t.Fatalf("matched %d > records %d", st.Matched, st.Records)
	}
	for _, d := range st.Damages {
		if strings.Contains(d.Reason, "runtime error") {
			t.Fatalf("runtime error recovered instead of a bounds check: %+v", d)
		}
	}
}

// bounded runs fn and fails (so the fuzzer saves the input) when it runs
// longer than 10 s: a hang is a finding like a crash.
func bounded(t *testing.T, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		panic("decode did not finish within 10s")
	}
}

func FuzzDecodeFile(f *testing.F) {
	for _, b := range corpusFilesOrNil(f) {
		// the header and first chunk keep the seeds small
		f.Add(b[:min(len(b), format.FileHeaderSize+format.ChunkSize)])
	}
	f.Add([]byte("ElfFile\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st Stats
		var err error
		bounded(t, func() {
			st, err = Decode(bytes.NewReader(data), "fuzz", Options{KeepTree: true}, func(e *Event) error {
				_ = e.XML()
				return nil
			})
		})
		if err != nil && !errors.Is(err, ErrNotEVTX) {
			t.Fatalf("unexpected error: %v", err)
		}
		checkStats(t, st)
	})
}

func decodeChunkBytes(data []byte, opts Options) (Stats, error) {
	c := newChunkState()
	c.reset(data, format.FileHeaderSize)
	d := &decoder{file: "fuzz", opts: opts}
	var rep chunkReport
	err := d.chunk(c, true, &rep, func(e *Event) error {
		_ = e.XML()
		return nil
	})
	var st Stats
	st.fold(&rep)
	return st, err
}

func FuzzDecodeChunk(f *testing.F) {
	for _, b := range corpusFilesOrNil(f) {
		for off := format.FileHeaderSize; off+format.ChunkSize <= len(b) && off < format.FileHeaderSize+3*format.ChunkSize; off += format.ChunkSize {
			f.Add(b[off : off+format.ChunkSize])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > format.ChunkSize {
			data = data[:format.ChunkSize]
		}
		var st, fst Stats
		var err error
		bounded(t, func() {
			st, err = decodeChunkBytes(data, Options{KeepTree: true})
			// The filter path peeks at template values; it must be as safe.
			fst, _ = decodeChunkBytes(data, Options{Filter: func(p string, id uint16) bool { return id%2 == 0 }})
		})
		if err != nil {
			t.Fatal(err)
		}
		checkStats(t, st)
		checkStats(t, fst)
	})
}

// recordBase is the first chunk of system.evtx: fuzzed records replace its
// last record, so they can reference the templates and names before it.
func recordBase(f *testing.F) ([]byte, int) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "corpus", "evtx-samples", "system.evtx"))
	if err != nil {
		f.Skipf("shared corpus absent: %v", err)
	}
	c := b[format.FileHeaderSize : format.FileHeaderSize+format.ChunkSize]
	return c, int(le32(c[44:]))
}

func FuzzDecodeRecord(f *testing.F) {
	base, last := recordBase(f)
	for off := format.ChunkHeaderSize; off < last; {
		size := int(le32(base[off+4:]))
		f.Add(base[off+format.RecordHeaderSize : off+size-4])
		off += size
	}
	f.Fuzz(func(t *testing.T, binxml []byte) {
		c := append([]byte(nil), base...)
		room := format.ChunkSize - last - format.RecordHeaderSize - 4
		if len(binxml) > room {
			binxml = binxml[:room]
		}
		size := format.RecordHeaderSize + len(binxml) + 4
		copy(c[last:], format.RecordMagic)
		putLE32(c[last+4:], uint32(size))
		copy(c[last+format.RecordHeaderSize:], binxml)
		putLE32(c[last+size-4:], uint32(size))
		var rep chunkReport
		bounded(t, func() {
			cs := newChunkState()
			cs.reset(c, format.FileHeaderSize)
			d := &decoder{file: "fuzz", opts: Options{KeepTree: true}}
			d.record(cs, last, size, &rep, func(e *Event) error {
				_ = e.XML()
				return nil
			})
		})
		var st Stats
		st.fold(&rep)
		checkStats(t, st)
	})
}
