package evtx

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteHostileCorpus writes the template-bomb cases of issue #19 into
// $TSDIAG_HOSTILE_DIR for .ci/hostile: one chunk of bomb records (64 KiB,
// which took 2.1 GB with events --format xml), 16 of them (1 MB: 10.7 GB,
// 181 s), each followed by a licensing chunk. Skipped unless the variable
// is set.
func TestWriteHostileCorpus(t *testing.T) {
	dir := os.Getenv("TSDIAG_HOSTILE_DIR")
	if dir == "" {
		t.Skip("TSDIAG_HOSTILE_DIR not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bomb := bombChunk()
	good := licensingChunk(t, "RDSH01", 20)
	for name, n := range map[string]int{"bomb-1chunk.evtx": 1, "bomb-1m.evtx": 16} {
		var chunks [][]byte
		for range n {
			chunks = append(chunks, bomb)
		}
		if err := os.WriteFile(filepath.Join(dir, name), fileWith(append(chunks, good)...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
