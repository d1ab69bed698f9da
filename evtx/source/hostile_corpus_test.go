package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestWriteHostileCorpus writes the archive, stream and .reg cases of
// issue #19 into $TSDIAG_HOSTILE_DIR for .ci/hostile, which runs tsdiag on
// each and checks its peak memory and time. $TSDIAG_HOSTILE_MB scales the
// big ones (default 256). Skipped unless the variable is set: the files
// are large.
func TestWriteHostileCorpus(t *testing.T) {
	dir := os.Getenv("TSDIAG_HOSTILE_DIR")
	if dir == "" {
		t.Skip("TSDIAG_HOSTILE_DIR not set")
	}
	mb := 256
	if s := os.Getenv("TSDIAG_HOSTILE_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	log := evtLog(t, "RDSH01", 50)

	// A big zip (a stored member of mb MiB) to be read from stdin and from
	// inside a tar: it was buffered whole.
	bigZip := filepath.Join(dir, "big.zip")
	writeFile(t, bigZip, func(w io.Writer) {
		zw := zip.NewWriter(w)
		m, _ := zw.Create("RDSH01/SysEvent.Evt")
		m.Write(log)
		m, _ = zw.CreateHeader(&zip.FileHeader{Name: "junk/pagefile.bin", Method: zip.Store})
		copyZeros(m, int64(mb)<<20)
		zw.Close()
	})
	tarOfFile(t, filepath.Join(dir, "zip-in.tar"), "bundle/inner.zip", bigZip)

	// A big legacy .evt (its records, then mb MiB of slack) for stdin and
	// inside a tar: it was buffered whole too.
	bigEvt := filepath.Join(dir, "big.evt")
	writeFile(t, bigEvt, func(w io.Writer) {
		w.Write(log)
		copyZeros(w, int64(mb)<<20)
	})
	tarOfFile(t, filepath.Join(dir, "evt-in.tar"), "RDSH01/SysEvent.Evt", bigEvt)

	// A zip of a million empty members (archive/zip built a File for each
	// before the member limit applied).
	writeFile(t, filepath.Join(dir, "million.zip"), func(w io.Writer) { millionZip(t, w, 1000000) })

	// A zip bomb whose directory declares a 4 GiB compressed size for 2 MB
	// of deflate (2 GiB of zeros): the declared size hid the ratio.
	writeFile(t, filepath.Join(dir, "declared-size.zip"), func(w io.Writer) {
		var z bytes.Buffer
		zw := zip.NewWriter(&z)
		m, _ := zw.Create("RDSH01/SysEvent.Evt")
		m.Write(log)
		m, _ = zw.Create("bomb/SysEvent.Evt")
		m.Write(log[:0x30])
		copyZeros(m, 2<<30)
		zw.Close()
		b := z.Bytes()
		d, err := findZipDir(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		off := int(d.start)
		off += dirHeaderLen + int(binary.LittleEndian.Uint16(b[off+28:])) + int(binary.LittleEndian.Uint16(b[off+30:])) + int(binary.LittleEndian.Uint16(b[off+32:]))
		binary.LittleEndian.PutUint32(b[off+20:], 0xfffffff0)
		w.Write(b)
	})

	// A sparse tar declaring 10^18 bytes behind a real log header, plain
	// and gzipped, and a folder of 20 of them (limits per scan).
	sparse := sparseTar("RDSH01/System.evt", log[:0x30], 1e18)
	writeBytes(t, filepath.Join(dir, "sparse.tar"), sparse)
	writeBytes(t, filepath.Join(dir, "sparse.tgz"), gz(sparse))
	for i := range 20 {
		writeBytes(t, filepath.Join(dir, "sparse-folder", fmt.Sprintf("b%02d.tar", i)), sparse)
	}

	// A .reg export of one line of mb MiB.
	writeFile(t, filepath.Join(dir, "one-line.reg"), func(w io.Writer) {
		io.WriteString(w, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n\"LicensingMode\"=\"")
		chunk := bytes.Repeat([]byte("A"), 1<<20)
		for range mb {
			w.Write(chunk)
		}
		io.WriteString(w, "\"\r\n")
	})
	t.Logf("hostile corpus written to %s", dir)
}

func writeFile(t *testing.T, path string, fill func(io.Writer)) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	fill(bw)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	writeFile(t, path, func(w io.Writer) { w.Write(b) })
}

func copyZeros(w io.Writer, n int64) {
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(zero)))
		w.Write(zero[:k])
		n -= k
	}
}

func tarOfFile(t *testing.T, path, name, src string) {
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, func(w io.Writer) {
		tw := tar.NewWriter(w)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(tw, f)
		f.Close()
		tw.Close()
	})
}

// millionZip writes n empty stored members by hand (archive/zip's writer
// would hold a header for each).
func millionZip(t *testing.T, w io.Writer, n int) {
	var off int64
	var dir bytes.Buffer
	le := binary.LittleEndian
	for i := range n {
		name := fmt.Sprintf("f/%07d.txt", i)
		var h [30]byte
		copy(h[:], "PK\x03\x04")
		le.PutUint16(h[4:], 20)
		le.PutUint16(h[26:], uint16(len(name)))
		w.Write(h[:])
		io.WriteString(w, name)
		var c [46]byte
		copy(c[:], "PK\x01\x02")
		le.PutUint16(c[4:], 20)
		le.PutUint16(c[6:], 20)
		le.PutUint16(c[28:], uint16(len(name)))
		le.PutUint32(c[42:], uint32(off))
		dir.Write(c[:])
		dir.WriteString(name)
		off += 30 + int64(len(name))
	}
	w.Write(dir.Bytes())
	var e [56 + 20 + 22]byte
	copy(e[:], "PK\x06\x06")
	le.PutUint64(e[4:], 44)
	le.PutUint16(e[12:], 45)
	le.PutUint16(e[14:], 45)
	le.PutUint64(e[24:], uint64(n))
	le.PutUint64(e[32:], uint64(n))
	le.PutUint64(e[40:], uint64(dir.Len()))
	le.PutUint64(e[48:], uint64(off))
	copy(e[56:], "PK\x06\x07")
	le.PutUint64(e[64:], uint64(off)+uint64(dir.Len()))
	le.PutUint32(e[72:], 1)
	copy(e[76:], "PK\x05\x06")
	le.PutUint16(e[84:], 0xffff)
	le.PutUint16(e[86:], 0xffff)
	le.PutUint32(e[88:], 0xffffffff)
	le.PutUint32(e[92:], 0xffffffff)
	w.Write(e[:])
}
