package source

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// spoolDir points os.TempDir at a fresh folder and returns it, to check
// that spilled streams are cleaned up.
func spoolDir(t *testing.T) string {
	d := t.TempDir()
	t.Setenv("TMPDIR", d)
	return d
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("temporary files left in %s: %v", dir, es)
	}
}

// TestStreamedZipAndEVTSpill reads a zip and a legacy .evt from stdin and
// from inside a tar, which need random access: they are spilled to a
// temporary file that is gone afterwards, and one over MaxSpool is refused
// with a message naming the input.
func TestStreamedZipAndEVTSpill(t *testing.T) {
	tmp := spoolDir(t)
	log := evtLog(t, "A", 7)
	z := zipOf(t, member{"x/SysEvent.Evt", log}, member{"y/SysEvent.Evt", log})
	cases := map[string]struct {
		in   []byte
		want int
	}{
		"zip":        {z, 14},
		"evt":        {log, 7},
		"tar-of-zip": {tarOf(t, member{"b.zip", z}, member{"c.evt", log}), 21},
	}
	for name, c := range cases {
		r := walk(t, []string{"-"}, Options{Stdin: bytes.NewReader(c.in)})
		if r.err != nil || len(r.events) != c.want || len(r.st.Unreadable) != 0 {
			t.Fatalf("%s: err %v, %d events (want %d), %+v", name, r.err, len(r.events), c.want, r.st.Unreadable)
		}
		assertEmpty(t, tmp)
		r = walk(t, []string{"-"}, Options{Stdin: bytes.NewReader(c.in), MaxSpool: int64(len(log) - 1)})
		if len(r.events) != 0 || len(r.st.Unreadable) == 0 {
			t.Fatalf("%s over MaxSpool: %d events, %+v", name, len(r.events), r.st.Unreadable)
		}
		for _, u := range r.st.Unreadable {
			if !strings.HasPrefix(u.File, StdinName) || !strings.Contains(u.Reason, "extract it and scan") {
				t.Fatalf("%s over MaxSpool: %+v", name, u)
			}
		}
		assertEmpty(t, tmp)
	}
}

// TestZipDirectoryInBatches: a zip of more members than one batch of the
// central directory is read whole, in order; the member limit still cuts
// it at the exact member, inside a batch.
func TestZipDirectoryInBatches(t *testing.T) {
	log := evtLog(t, "H", 1)
	var ms []member
	n := dirBatchEntries*2 + 100
	for i := range n {
		ms = append(ms, member{fmt.Sprintf("m%05d.evt", i), log})
	}
	z := zipOf(t, ms...)
	p := write(t, t.TempDir(), "many.zip", z)
	r := walk(t, []string{p}, Options{})
	if r.err != nil || len(r.events) != n || len(r.st.Unreadable) != 0 {
		t.Fatalf("%d of %d events, %+v", len(r.events), n, r.st.Unreadable)
	}
	for i, f := range r.files {
		if want := fmt.Sprintf("%s!m%05d.evt", p, i); f != want {
			t.Fatalf("event %d from %s, want %s", i, f, want)
		}
	}
	r = walk(t, []string{p}, Options{MaxMembers: dirBatchEntries + 10})
	if len(r.events) != dirBatchEntries+10 || len(r.st.Unreadable) != 1 || !strings.Contains(r.st.Unreadable[0].Reason, "MaxMembers") {
		t.Fatalf("limited: %d events, %+v", len(r.events), r.st.Unreadable)
	}
	// The same from stdin, spilled.
	r = walk(t, []string{"-"}, Options{Stdin: bytes.NewReader(z)})
	if len(r.events) != n || len(r.st.Unreadable) != 0 {
		t.Fatalf("stdin: %d of %d events, %+v", len(r.events), n, r.st.Unreadable)
	}
}

// TestZipRatioFromBytesRead: a bomb member whose directory entry declares
// a huge compressed size is still judged by the compressed bytes actually
// read (before, a declared 1 TiB skipped the check and 10 GiB inflated).
func TestZipRatioFromBytesRead(t *testing.T) {
	good := evtLog(t, "OK", 2)
	z := zipOf(t, member{"a/SysEvent.Evt", good}, member{"bomb/SysEvent.Evt", bombLog(t, 24)}, member{"z/SysEvent.Evt", good})
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	// Patch the bomb's compressed size in its central directory entry.
	d, err := findZipDir(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	off := int(d.start)
	for i := range zr.File {
		if i == 1 {
			binary.LittleEndian.PutUint32(z[off+20:], 0xfffffff0)
		}
		off += dirHeaderLen + int(binary.LittleEndian.Uint16(z[off+28:])) + int(binary.LittleEndian.Uint16(z[off+30:])) + int(binary.LittleEndian.Uint16(z[off+32:]))
	}
	p := write(t, t.TempDir(), "bomb.zip", z)
	r := walk(t, []string{p}, Options{})
	if len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p+"!bomb/SysEvent.Evt" || !strings.Contains(r.st.Unreadable[0].Reason, "MaxRatio") {
		t.Fatalf("unreadable %+v", r.st.Unreadable)
	}
	if got := countByFile(r.files); got[p+"!a/SysEvent.Evt"] != 2 || got[p+"!z/SysEvent.Evt"] != 2 {
		t.Fatalf("members around the bomb: %v", got)
	}
}

// sparseTar is an old-GNU sparse member: head as its only data at offset
// 0, then a hole up to size bytes, which a tar reader returns as zeros with
// no bytes behind them.
func sparseTar(name string, head []byte, size int64) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(head)))
	copy(h[136:], "00000000000\x00")
	h[156] = 'S'
	copy(h[257:], "ustar  \x00")
	copy(h[386:], fmt.Sprintf("%011o\x00", 0))
	copy(h[398:], fmt.Sprintf("%011o\x00", len(head)))
	h[483] = 0x80 // base-256: sizes beyond 8 GiB do not fit the octal field
	binary.BigEndian.PutUint64(h[487:], uint64(size))
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	data := append([]byte(nil), head...)
	data = append(data, make([]byte, (512-len(head)%512)%512)...)
	out := append(h, data...)
	return append(out, make([]byte, 1024)...)
}

// TestSparseTarRatio: a tar member that declares 10^18 bytes of holes is
// stopped by the ratio limit after a few MiB, and the member after it is
// still read.
func TestSparseTarRatio(t *testing.T) {
	log := evtLog(t, "OK", 2)
	b := sparseTar("bomb.evt", log[:0x30], 1e18)
	b = append(b[:len(b)-1024], tarOf(t, member{"ok.evt", log})...)
	for name, in := range map[string][]byte{"sparse.tar": b, "sparse.tgz": gz(b)} {
		p := write(t, t.TempDir(), name, in)
		r := walk(t, []string{p}, Options{})
		if len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p+"!bomb.evt" || !strings.Contains(r.st.Unreadable[0].Reason, "MaxRatio") {
			t.Fatalf("%s: unreadable %+v", name, r.st.Unreadable)
		}
		if r.st.Unreadable[0].Offset > 16<<20 {
			t.Fatalf("%s: read %d bytes of holes before stopping", name, r.st.Unreadable[0].Offset)
		}
		if got := countByFile(r.files); got[p+"!ok.evt"] != 2 {
			t.Fatalf("%s: member after the sparse one: %v", name, got)
		}
	}
}

// TestScanLimits: the archive limits also hold for all archives of one
// walk together, so a folder of bundles each under its own limit stops.
func TestScanLimits(t *testing.T) {
	dir := t.TempDir()
	log := evtLog(t, "H", 1)
	for i := range 4 {
		write(t, dir, fmt.Sprintf("b%d.tar", i), tarOf(t, member{"1.evt", log}, member{"2.evt", log}, member{"3.evt", log}))
	}
	r := walk(t, []string{dir}, Options{MaxScanMembers: 7})
	if len(r.events) != 7 || len(r.st.Unreadable) != 2 || !strings.Contains(r.st.Unreadable[0].Reason, "MaxScanMembers") {
		t.Fatalf("members: %d events, %+v", len(r.events), r.st.Unreadable)
	}
	r = walk(t, []string{dir}, Options{MaxScanArchiveBytes: int64(len(log)*5 + 10)})
	if len(r.events) != 5 || len(r.st.Unreadable) < 1 || !strings.Contains(r.st.Unreadable[0].Reason, "MaxScanArchiveBytes") {
		t.Fatalf("bytes: %d events, %+v", len(r.events), r.st.Unreadable)
	}
}

// TestSkippedKeptUpToCap: a bundle of many files that are not logs keeps
// the first MaxSkipped by name and counts the rest; the count in the "no
// event logs" message is the whole.
func TestSkippedKeptUpToCap(t *testing.T) {
	var ms []member
	n := evtx.MaxSkipped + 500
	for i := range n {
		ms = append(ms, member{fmt.Sprintf("n%05d.txt", i), []byte("not a log")})
	}
	p := write(t, t.TempDir(), "notes.zip", zipOf(t, ms...))
	r := walk(t, []string{p}, Options{})
	if len(r.st.Skipped) != evtx.MaxSkipped || r.st.SkippedOmitted != 500 {
		t.Fatalf("%d skipped kept, %d omitted", len(r.st.Skipped), r.st.SkippedOmitted)
	}
	if r.err == nil || !strings.Contains(r.err.Error(), fmt.Sprintf("%d files skipped", n)) {
		t.Fatalf("error %v", r.err)
	}
}
