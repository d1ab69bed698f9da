package goevtx

import (
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"
)

// The baseline must read a clean real log completely, or the benchmark
// ratios against it would flatter us.
func TestBaselineReadsCleanLog(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "shared", "corpus", "evtx-samples", "system.evtx")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared corpus not present (%v): skipping the baseline check", err)
	}
	log.SetOutput(io.Discard)
	defer log.SetOutput(os.Stderr)
	var withID int
	c, err := DecodeFile(path, func(m *gevtxMap) {
		if m.EventID() > 0 {
			withID++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Records != 1881 {
		t.Fatalf("golang-evtx read %+v of system.evtx, want all 1881 records (its failed chunks are the empty ones past the last)", c)
	}
	if withID == 0 {
		t.Fatal("no decoded record carried an EventID")
	}
}

func TestBaselineRejectsNonEVTX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.evtx")
	if err := os.WriteFile(path, make([]byte, 70000), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := DecodeFile(path, nil)
	if c.Records != 0 {
		t.Fatalf("decoded %d records from zeros", c.Records)
	}
}
