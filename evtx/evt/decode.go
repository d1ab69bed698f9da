package evt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/spool"
)

// ErrNotEVT is returned (wrapped, with the file name) when the input does
// not start with an EVT header.
var ErrNotEVT = errors.New("not a legacy EVT event log")

// DefaultMaxBytes caps a streamed .evt that Decode spills to a temporary
// file. Windows 2000/2003 logs are at most a few hundred MB (the circular
// buffer needs random access, so a stream is read whole before decoding,
// but into os.TempDir, never into memory: 900 MB on stdin took 2 GB).
const DefaultMaxBytes = 1 << 30

// Options tune a decode.
type Options struct {
	// Filter is checked on (source name, event id) before a record's
	// strings, SID and data are decoded.
	Filter evtx.Filter
	// Channel names the log when the file name does not (ChannelFromName).
	Channel string
	// MaxBytes caps how much of a streamed input Decode spills to a
	// temporary file; 0 means DefaultMaxBytes.
	MaxBytes int64
}

// DecodeFile decodes the .evt file at path, reading it record by record.
func DecodeFile(path string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return evtx.Stats{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return evtx.Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	return DecodeReaderAt(f, fi.Size(), path, opts, fn)
}

// Decode reads a streamed .evt (an archive member, stdin) into a temporary
// file, up to Options.MaxBytes, and decodes it from there.
func Decode(r io.Reader, name string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	f, err := spool.Copy(r, max)
	if errors.Is(err, spool.ErrTooLarge) {
		return evtx.Stats{}, fmt.Errorf("%s: legacy .evt read from a stream is %v; extract it and scan the file", name, err)
	}
	if f == nil {
		return evtx.Stats{}, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	if err != nil && f.Size < headerSize {
		return evtx.Stats{}, fmt.Errorf("%s: %w", name, err)
	}
	st, derr := DecodeReaderAt(f, f.Size, name, opts, fn)
	if err != nil && derr == nil {
		st.AddDamages(evtx.Damage{File: name, Offset: f.Size, Kind: "file", Reason: "read error: " + err.Error()})
	}
	return st, derr
}

// DecodeReaderAt decodes the .evt in r (size bytes), calling fn for each
// record in log order, oldest first. Damage is reported in the returned
// Stats; an error means the input is not EVT at all, could not be read, or fn
// failed.
func DecodeReaderAt(r io.ReaderAt, size int64, name string, opts Options, fn func(*evtx.Event) error) (st evtx.Stats, err error) {
	d := &decoder{r: r, size: size, name: name, opts: opts, fn: fn}
	if d.opts.Channel == "" {
		d.opts.Channel = ChannelFromName(name)
	}
	defer func() {
		// The decoder checks every offset; this guards the process against
		// a case it missed, turning it into a reported error.
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: internal error decoding .evt: %v", name, p)
		}
	}()
	err = d.run()
	d.st.Files = 1
	d.st.Bytes = size
	return d.st, err
}

type decoder struct {
	r     io.ReaderAt
	size  int64
	name  string
	opts  Options
	fn    func(*evtx.Event) error
	st    evtx.Stats
	limit int64 // end of the circular buffer
}

func (d *decoder) damage(off int64, kind, format string, args ...any) {
	d.st.AddDamages(evtx.Damage{File: d.name, Offset: off, Kind: kind, Reason: fmt.Sprintf(format, args...)})
}

func (d *decoder) run() error {
	hb := make([]byte, headerSize)
	n, err := d.r.ReadAt(hb, 0)
	if n < 8 || !IsEVT(hb[:n]) {
		return fmt.Errorf("%s: %w", d.name, ErrNotEVT)
	}
	if n < headerSize {
		d.damage(0, "header", "file truncated inside the header (%d bytes)", n)
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	h := parseHeader(hb)
	d.limit = d.size
	if h.maxSize >= minRecordSize+headerSize && int64(h.maxSize) < d.limit {
		// Bytes past MaxSize are never part of the buffer.
		d.limit = int64(h.maxSize)
	}
	if d.limit <= headerSize {
		return nil // an empty log
	}
	start, end := d.bounds(h)
	return d.walk(start, end)
}

// bounds finds the oldest record and the end-of-file record: from the header
// when it is clean and agrees with the file, else from the end-of-file
// record found by scanning.
func (d *decoder) bounds(h header) (start, end int64) {
	if h.flags&flagDirty == 0 && d.inBuffer(int64(h.start)) && d.eofAt(int64(h.end)) {
		return int64(h.start), int64(h.end)
	}
	if off, rec, ok := d.findEOF(); ok {
		if d.inBuffer(int64(rec.begin)) {
			return int64(rec.begin), off
		}
		d.damage(off, "header", "end-of-file record points outside the file (begin 0x%x)", rec.begin)
		return headerSize, off
	}
	d.damage(d.size, "file", "no end-of-file record (file truncated or copied while open); reading until the data stops")
	start = int64(h.start)
	if !d.inBuffer(start) {
		start = headerSize
	}
	return start, -1
}

func (d *decoder) inBuffer(off int64) bool { return off >= headerSize && off < d.limit }

func (d *decoder) eofAt(off int64) bool {
	if !d.inBuffer(off) {
		return false
	}
	b, err := d.readWrapped(off, eofRecordSize)
	return err == nil && isEOFRecord(b)
}

// findEOF scans the buffer for the end-of-file record.
func (d *decoder) findEOF() (int64, eofRecord, bool) {
	const block = 64 << 10
	buf := make([]byte, block+eofRecordSize)
	for off := int64(headerSize); off < d.limit; off += block {
		n, _ := d.r.ReadAt(buf[:min(int64(len(buf)), d.limit-off)], off)
		for i := 0; i+eofRecordSize <= n && i < block; i += 4 {
			if isEOFRecord(buf[i:n]) {
				return off + int64(i), parseEOF(buf[i:n]), true
			}
		}
	}
	// The record itself may be split across the end of a wrapped buffer.
	for off := max(headerSize, d.limit-eofRecordSize+4) &^ 3; off < d.limit; off += 4 {
		if b, err := d.readWrapped(off, eofRecordSize); err == nil && isEOFRecord(b) {
			return off, parseEOF(b), true
		}
	}
	return 0, eofRecord{}, false
}

// readWrapped reads n bytes of the circular buffer starting at off,
// continuing after the header when it passes the end of the buffer.
func (d *decoder) readWrapped(off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	first := min(int64(n), d.limit-off)
	if _, err := d.r.ReadAt(b[:first], off); err != nil {
		return nil, err
	}
	if first < int64(n) {
		if int64(n)-first > d.limit-headerSize {
			return nil, io.ErrUnexpectedEOF
		}
		if _, err := d.r.ReadAt(b[first:], headerSize); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (d *decoder) advance(off, n int64) int64 {
	off += n
	if off >= d.limit {
		off = headerSize + (off - d.limit)
	}
	return off
}

// walk reads records from start to end (end < 0: until the data stops),
// never covering more than the buffer once.
func (d *decoder) walk(start, end int64) error {
	budget := d.limit - headerSize
	off := start
	for budget > 0 && off != end {
		if d.limit-off < 4 {
			budget -= d.limit - off
			off = headerSize
			continue
		}
		lb, err := d.readWrapped(off, 4)
		if err != nil {
			d.damage(off, "record", "read error: %v", err)
			return nil
		}
		length := int64(binary.LittleEndian.Uint32(lb))
		switch {
		case length == fillerDword:
			budget -= 4
			off = d.advance(off, 4)
			continue
		case length == eofRecordSize && d.eofAt(off):
			return nil
		}
		rec, reason := d.readRecord(off, length)
		if reason != "" {
			if end < 0 && length == 0 {
				return nil // the written part of a log that was never closed
			}
			d.st.DamagedRecords++
			d.damage(off, "record", "%s", reason)
			next, ok := d.resync(off, end, budget)
			if !ok {
				return nil
			}
			budget -= d.distance(off, next)
			off = next
			continue
		}
		if err := d.emit(rec, off); err != nil {
			return err
		}
		budget -= length
		off = d.advance(off, length)
	}
	if end >= 0 && off != end {
		d.damage(off, "file", "records overrun the end-of-file record at 0x%x", end)
	}
	return nil
}

func (d *decoder) distance(from, to int64) int64 {
	if to >= from {
		return to - from
	}
	return d.limit - from + to - headerSize
}

// readRecord returns the bytes of the record at off, or why they are not a
// record.
func (d *decoder) readRecord(off, length int64) ([]byte, string) {
	if length < minRecordSize || length%4 != 0 || length > d.limit-headerSize {
		return nil, fmt.Sprintf("bad record length %d", length)
	}
	if off+length > d.size && off+length <= d.limit {
		return nil, fmt.Sprintf("record of %d bytes truncated by the end of the file", length)
	}
	b, err := d.readWrapped(off, int(length))
	if err != nil {
		return nil, fmt.Sprintf("record of %d bytes truncated: %v", length, err)
	}
	if [4]byte(b[4:8]) != signature {
		return nil, "record signature is not LfLe"
	}
	if int64(binary.LittleEndian.Uint32(b[length-4:])) != length {
		return nil, "record's trailing length does not match its leading length"
	}
	return b, ""
}

// resync looks for the next record signature after a damaged record.
func (d *decoder) resync(off, end, budget int64) (int64, bool) {
	for p, left := d.advance(off, 4), budget-4; left > minRecordSize; p, left = d.advance(p, 4), left-4 {
		if p == end {
			return p, true
		}
		if d.limit-p < 8 {
			continue
		}
		b := make([]byte, 8)
		if _, err := d.r.ReadAt(b, p); err != nil {
			return 0, false
		}
		if [4]byte(b[4:8]) == signature {
			if _, reason := d.readRecord(p, int64(binary.LittleEndian.Uint32(b))); reason == "" {
				return p, true
			}
		}
		if d.eofAt(p) {
			return p, true
		}
	}
	return 0, false
}

func (d *decoder) emit(b []byte, off int64) error {
	d.st.Records++
	src, next, ok := utf16z(b, 56, len(b)-4)
	if !ok {
		d.st.Records--
		d.st.DamagedRecords++
		d.damage(off, "record", "source name not terminated")
		return nil
	}
	id := binary.LittleEndian.Uint32(b[20:])
	if d.opts.Filter != nil && !d.opts.Filter(src, uint16(id)) {
		return nil
	}
	ev, reason := d.event(b, src, next)
	if reason != "" {
		d.st.Records--
		d.st.DamagedRecords++
		d.damage(off, "record", "%s", reason)
		return nil
	}
	ev.File, ev.Offset = d.name, off
	d.st.Matched++
	return d.fn(ev)
}

// event builds the normalized event of record b whose computer name starts
// at next.
func (d *decoder) event(b []byte, src string, next int) (*evtx.Event, string) {
	le := binary.LittleEndian
	n := len(b) - 4
	computer, _, ok := utf16z(b, next, n)
	if !ok {
		return nil, "computer name not terminated"
	}
	id := le.Uint32(b[20:])
	typ := le.Uint16(b[24:])
	ev := &evtx.Event{
		Provider:    src,
		EventID:     uint16(id),
		Qualifiers:  uint16(id >> 16),
		Level:       levelOf(typ),
		Task:        le.Uint16(b[28:]),
		Keywords:    keywordsOf(typ),
		TimeCreated: time.Unix(int64(le.Uint32(b[12:])), 0).UTC(),
		RecordID:    uint64(le.Uint32(b[8:])),
		Channel:     d.opts.Channel,
		Computer:    computer,
	}
	if sidLen := le.Uint32(b[40:]); sidLen > 0 {
		sb, ok := span(b, le.Uint32(b[44:]), sidLen, n)
		if !ok {
			return nil, "user SID outside the record"
		}
		if ev.UserSID, ok = sidString(sb); !ok {
			return nil, "malformed user SID"
		}
	}
	strs, reason := strings16(b, le.Uint32(b[36:]), int(le.Uint16(b[26:])), n)
	if reason != "" {
		return nil, reason
	}
	ev.Params = strs
	data, ok := span(b, le.Uint32(b[52:]), le.Uint32(b[48:]), n)
	if !ok {
		return nil, "data outside the record"
	}
	ev.Tree = tree(ev, data)
	return ev, ""
}

// span returns b[off:off+n] when it lies inside b[:limit].
func span(b []byte, off, n uint32, limit int) ([]byte, bool) {
	if int64(off)+int64(n) > int64(limit) || off < 56 && n > 0 {
		return nil, false
	}
	return b[off : off+n], true
}

// strings16 reads count NUL-terminated UTF-16 strings starting at off.
func strings16(b []byte, off uint32, count, limit int) ([]string, string) {
	if count == 0 {
		return nil, ""
	}
	if int64(off) >= int64(limit) || off < 56 {
		return nil, "strings offset outside the record"
	}
	out := make([]string, 0, count)
	p := int(off)
	for i := 0; i < count; i++ {
		s, next, ok := utf16z(b, p, limit)
		if !ok {
			return nil, "string " + strconv.Itoa(i+1) + " runs past the record"
		}
		out = append(out, s)
		p = next
	}
	return out, ""
}

// utf16z decodes a NUL-terminated UTF-16LE string at b[off:limit] and
// returns the offset after its terminator.
func utf16z(b []byte, off, limit int) (string, int, bool) {
	var u []uint16
	for p := off; p+1 < limit; p += 2 {
		c := binary.LittleEndian.Uint16(b[p:])
		if c == 0 {
			return string(utf16.Decode(u)), p + 2, true
		}
		u = append(u, c)
	}
	return "", 0, false
}
