package watch_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/watch"
)

// benchFile writes a System-style log of about 20 MB (the default maximum
// size of the System log) and returns its path and size.
func benchFile(b *testing.B) (string, int64) {
	b.Helper()
	recs := serverLog("RDSH01", 60000, 30, 1, start)
	path := filepath.Join(b.TempDir(), "System.evtx")
	if err := os.WriteFile(path, encode(b, recs), 0o644); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	return path, st.Size()
}

// BenchmarkPollChanged is the cost of one poll after the file was touched
// without growing (a new modification time, same bytes): every chunk is
// checksummed and none decoded. BenchmarkWholeDecode is what a poll would
// cost decoding the whole file.
func BenchmarkPollChanged(b *testing.B) {
	path, size := benchFile(b)
	w := watch.NewWatcher(path, watch.Options{Filter: onlyRCM})
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		mt := start.Add(time.Duration(i) * time.Second)
		os.Chtimes(path, mt, mt)
		if _, err := w.Poll(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollUnchanged is the cost of a poll when nothing changed (stat
// plus the header and last-chunk fingerprint).
func BenchmarkPollUnchanged(b *testing.B) {
	path, _ := benchFile(b)
	w := watch.NewWatcher(path, watch.Options{Filter: onlyRCM})
	if _, err := w.Poll(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.Poll(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollGrown is the cost of a poll after the last chunk filled in
// place: every chunk is checksummed, only the changed one decoded.
func BenchmarkPollGrown(b *testing.B) {
	path, size := benchFile(b)
	w := watch.NewWatcher(path, watch.Options{Filter: onlyRCM})
	if _, err := w.Poll(); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Flip a byte of the last chunk's free space: a change in place.
		if _, err := f.WriteAt([]byte{byte(i)}, size-1); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Poll(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWholeDecode decodes the whole file with the filter, what every
// changed poll would cost without chunk checksums.
func BenchmarkWholeDecode(b *testing.B) {
	path, size := benchFile(b)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		if _, err := watch.DecodeEVTX(path, onlyRCM, func(*evtx.Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
