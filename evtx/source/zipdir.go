package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// A zip's central directory is read in batches: archive/zip builds a File
// (about 240 bytes, plus name, extra and comment) for every entry before the
// first member can be opened, so a zip of a million empty members took
// 235 MB before the member limit could apply. Each batch of at most
// dirBatchEntries entries, or dirBatchBytes of directory, is presented to
// archive/zip as a zip of its own (the original bytes up to the directory,
// then the batch, then a new end record), so memory is one batch whatever
// the directory declares.
const (
	dirBatchEntries = 1024
	dirBatchBytes   = 1 << 20
	dirHeaderLen    = 46
	dirEndLen       = 22
	dir64EndLen     = 56
	dir64LocLen     = 20
)

var errNoDirEnd = errors.New("no end of central directory record")

// zipDir is where a zip's central directory lies.
type zipDir struct {
	start   int64  // file offset of the first directory entry
	end     int64  // file offset just past the directory
	base    int64  // offset of the archive start (data prepended to a zip)
	records uint64 // entries the end record declares
}

// findZipDir reads the end of central directory record (and its zip64
// form) the way archive/zip does, so the batches match what it would read.
func findZipDir(r io.ReaderAt, size int64) (zipDir, error) {
	var buf []byte
	var endOff int64 = -1
	for _, n := range []int64{1024, 65 * 1024} {
		n = min(n, size)
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return zipDir{}, err
		}
		if p := dirEndIn(buf); p >= 0 {
			buf, endOff = buf[p:], size-n+int64(p)
			break
		}
		if n == size {
			break
		}
	}
	if endOff < 0 {
		return zipDir{}, errNoDirEnd
	}
	records := uint64(binary.LittleEndian.Uint16(buf[10:]))
	dirSize := uint64(binary.LittleEndian.Uint32(buf[12:]))
	dirOff := uint64(binary.LittleEndian.Uint32(buf[16:]))
	if records == 0xffff || dirSize == 0xffff || dirOff == 0xffffffff {
		if p, ok := find64End(r, endOff); ok {
			b := make([]byte, dir64EndLen)
			if _, err := r.ReadAt(b, p); err == nil && string(b[:4]) == "PK\x06\x06" {
				endOff = p
				records = binary.LittleEndian.Uint64(b[32:])
				dirSize = binary.LittleEndian.Uint64(b[40:])
				dirOff = binary.LittleEndian.Uint64(b[48:])
			}
		}
	}
	if dirSize > uint64(size) || dirOff > uint64(size) {
		return zipDir{}, errors.New("central directory lies outside the file")
	}
	base := endOff - int64(dirSize) - int64(dirOff)
	if base > 0 {
		// archive/zip prefers a base of 0 when a directory entry is found
		// there (writers that got the offsets of prepended data wrong).
		sig := make([]byte, 4)
		if _, err := r.ReadAt(sig, int64(dirOff)); err == nil && string(sig) == "PK\x01\x02" {
			base = 0
		}
	}
	start := base + int64(dirOff)
	if start < 0 || start > endOff {
		return zipDir{}, errors.New("central directory lies outside the file")
	}
	return zipDir{start: start, end: min(start+int64(dirSize), endOff), base: base, records: records}, nil
}

func dirEndIn(b []byte) int {
	for i := len(b) - dirEndLen; i >= 0; i-- {
		if b[i] == 'P' && b[i+1] == 'K' && b[i+2] == 5 && b[i+3] == 6 {
			n := int(binary.LittleEndian.Uint16(b[i+dirEndLen-2:]))
			if i+dirEndLen+n > len(b) {
				return -1
			}
			return i
		}
	}
	return -1
}

func find64End(r io.ReaderAt, endOff int64) (int64, bool) {
	if endOff < dir64LocLen {
		return 0, false
	}
	b := make([]byte, dir64LocLen)
	if _, err := r.ReadAt(b, endOff-dir64LocLen); err != nil || string(b[:4]) != "PK\x06\x07" {
		return 0, false
	}
	p := binary.LittleEndian.Uint64(b[8:])
	return int64(p), p < uint64(endOff)
}

// dirBatches reads the directory entries in batches and calls fn with each
// batch presented as a zip of its own; fn returns false to stop. It returns
// how many entries it read, and false when fn stopped it.
func dirBatches(r io.ReaderAt, d zipDir, fn func(ra io.ReaderAt, size int64) bool) (int, bool) {
	sr := io.NewSectionReader(r, d.start, d.end-d.start)
	var batch bytes.Buffer
	head := make([]byte, dirHeaderLen)
	entries, total := 0, 0
	flush := func() bool {
		if entries == 0 {
			return true
		}
		v := batchZip(r, d, batch.Bytes(), entries)
		ok := fn(v, v.size())
		batch.Reset()
		entries = 0
		return ok
	}
	for {
		if _, err := io.ReadFull(sr, head); err != nil || string(head[:4]) != "PK\x01\x02" {
			// archive/zip also ends the directory at the first record that
			// is not a directory entry.
			return total, flush()
		}
		n := int(binary.LittleEndian.Uint16(head[28:])) + int(binary.LittleEndian.Uint16(head[30:])) + int(binary.LittleEndian.Uint16(head[32:]))
		if entries > 0 && (entries >= dirBatchEntries || batch.Len()+dirHeaderLen+n > dirBatchBytes) {
			if !flush() {
				return total, false
			}
		}
		batch.Write(head)
		if _, err := io.CopyN(&batch, sr, int64(n)); err != nil {
			batch.Truncate(batch.Len() - dirHeaderLen)
			return total, flush()
		}
		entries++
		total++
	}
}

// virtualZip is the original bytes up to the directory, one batch of
// directory entries, and a zip64 end record describing only that batch.
type virtualZip struct {
	r      io.ReaderAt
	prefix int64
	tail   []byte
}

func batchZip(r io.ReaderAt, d zipDir, entries []byte, n int) *virtualZip {
	tail := append([]byte(nil), entries...)
	end64 := d.start + int64(len(entries))
	var b [dir64EndLen + dir64LocLen + dirEndLen]byte
	e := b[:dir64EndLen]
	copy(e, "PK\x06\x06")
	binary.LittleEndian.PutUint64(e[4:], dir64EndLen-12)
	binary.LittleEndian.PutUint16(e[12:], 45)
	binary.LittleEndian.PutUint16(e[14:], 45)
	binary.LittleEndian.PutUint64(e[24:], uint64(n))
	binary.LittleEndian.PutUint64(e[32:], uint64(n))
	binary.LittleEndian.PutUint64(e[40:], uint64(len(entries)))
	binary.LittleEndian.PutUint64(e[48:], uint64(d.start-d.base))
	l := b[dir64EndLen : dir64EndLen+dir64LocLen]
	copy(l, "PK\x06\x07")
	binary.LittleEndian.PutUint64(l[8:], uint64(end64))
	binary.LittleEndian.PutUint32(l[16:], 1)
	z := b[dir64EndLen+dir64LocLen:]
	copy(z, "PK\x05\x06")
	binary.LittleEndian.PutUint16(z[8:], 0xffff)
	binary.LittleEndian.PutUint16(z[10:], 0xffff)
	binary.LittleEndian.PutUint32(z[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(z[16:], 0xffffffff)
	return &virtualZip{r: r, prefix: d.start, tail: append(tail, b[:]...)}
}

func (v *virtualZip) size() int64 { return v.prefix + int64(len(v.tail)) }

func (v *virtualZip) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < v.prefix {
		m := int(min(int64(len(p)), v.prefix-off))
		k, err := v.r.ReadAt(p[:m], off)
		n += k
		if err != nil && !(err == io.EOF && k == m) {
			return n, err
		}
		off += int64(k)
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	t := off - v.prefix
	if t >= int64(len(v.tail)) {
		return n, io.EOF
	}
	k := copy(p, v.tail[t:])
	n += k
	if k < len(p) {
		return n, io.EOF
	}
	return n, nil
}
