package evtx

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChunkWorkOfRealLogs: the busiest chunk of the corpus uses well under
// maxChunkWork (a quarter at most), so the bound against template bombs
// never touches a real log, and no record of the corpus is damaged by it.
func TestChunkWorkOfRealLogs(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "evtx-samples", "*.evtx"))
	if len(files) == 0 {
		t.Skip("corpus not found (../shared is absent)")
	}
	maxWork, total, bytes := 0, 0, int64(0)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &decoder{file: f, opts: Options{KeepTree: true}}
		c := newChunkState()
		for off := 4096; off+65536 <= len(b); off += 65536 {
			c.reset(b[off:off+65536], int64(off))
			var rep chunkReport
			d.chunk(c, true, &rep, func(*Event) error { return nil })
			maxWork = max(maxWork, rep.work)
			total += rep.work
			bytes += 65536
			for _, dm := range rep.damages {
				if strings.Contains(dm.Reason, "units of work") {
					t.Errorf("%s: %+v", f, dm)
				}
			}
		}
	}
	t.Logf("busiest chunk %d units, average %.2f units per byte over %d bytes", maxWork, float64(total)/float64(bytes), bytes)
	if maxWork == 0 || maxWork*4 > maxChunkWork {
		t.Fatalf("busiest real chunk spends %d units of %d", maxWork, maxChunkWork)
	}
}
