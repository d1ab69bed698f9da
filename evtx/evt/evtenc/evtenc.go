// Package evtenc writes legacy Windows NT/2000/2003 event logs (.evt).
//
// It exists so tests (and scenario generators) have real .evt bytes: records
// laid out as EVENTLOGRECORD structures in a circular buffer that wraps when
// the log is full, exactly as the Windows 2003 event log service leaves them.
package evtenc

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Event types (EVENTLOGRECORD.EventType).
const (
	Error        = 0x0001
	Warning      = 0x0002
	Information  = 0x0004
	AuditSuccess = 0x0008
	AuditFailure = 0x0010
)

// Record is one event as ReportEvent receives it.
type Record struct {
	Number   uint32 // 0: numbered in sequence from 1
	Time     time.Time
	EventID  uint32 // qualifiers in the high word (e.g. 0xC00003F0 for TermService 1008)
	Type     uint16
	Category uint16
	Source   string
	Computer string
	UserSID  string // "S-1-5-18" or ""
	Strings  []string
	Data     []byte
}

// Options shape the file.
type Options struct {
	// MaxSize is the log's maximum size: once records fill it the buffer
	// wraps and the oldest records are overwritten. 0 means large enough
	// for every record (no wrap).
	MaxSize int
	// Dirty marks the header as written by a live system: its offsets are
	// left stale and only the end-of-file record is current.
	Dirty bool
}

const (
	headerSize = 0x30
	eofSize    = 0x28
)

// EncodeRecord returns the bytes of one EVENTLOGRECORD.
func EncodeRecord(r Record) ([]byte, error) {
	sid, err := sidBytes(r.UserSID)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	b := make([]byte, 56, 256)
	b = append(b, utf16z(r.Source)...)
	b = append(b, utf16z(r.Computer)...)
	b = pad4(b)
	sidOff := len(b)
	b = append(b, sid...)
	strOff := len(b)
	for _, s := range r.Strings {
		b = append(b, utf16z(s)...)
	}
	dataOff := len(b)
	b = append(b, r.Data...)
	b = pad4(b)
	b = append(b, 0, 0, 0, 0)
	n := uint32(len(b))
	le.PutUint32(b[0:], n)
	copy(b[4:], "LfLe")
	le.PutUint32(b[8:], r.Number)
	le.PutUint32(b[12:], uint32(r.Time.Unix()))
	le.PutUint32(b[16:], uint32(r.Time.Unix()))
	le.PutUint32(b[20:], r.EventID)
	le.PutUint16(b[24:], r.Type)
	le.PutUint16(b[26:], uint16(len(r.Strings)))
	le.PutUint16(b[28:], r.Category)
	le.PutUint32(b[36:], uint32(strOff))
	le.PutUint32(b[40:], uint32(len(sid)))
	le.PutUint32(b[44:], uint32(sidOff))
	le.PutUint32(b[48:], uint32(len(r.Data)))
	le.PutUint32(b[52:], uint32(dataOff))
	le.PutUint32(b[n-4:], n)
	return b, nil
}

// Encode lays records out in a log file, oldest first.
func Encode(recs []Record, opts Options) ([]byte, error) {
	encoded := make([][]byte, len(recs))
	total := headerSize + eofSize
	for i, r := range recs {
		if r.Number == 0 {
			r.Number = uint32(i + 1)
		}
		b, err := EncodeRecord(r)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		encoded[i], total = b, total+len(b)
	}
	size := opts.MaxSize
	if size == 0 {
		size = total
	}
	w := &ring{buf: make([]byte, size), pos: headerSize}
	for i, b := range encoded {
		if len(b)+eofSize > size-headerSize {
			return nil, fmt.Errorf("record %d (%d bytes) does not fit a %d-byte log", i, len(b), size)
		}
		w.add(b, recs[i].Number, uint32(i+1))
	}
	w.finish(opts.Dirty)
	return w.buf, nil
}

// ring is the circular buffer after the header.
type ring struct {
	buf     []byte
	pos     int
	live    []span // records still in the buffer, oldest first
	used    int
	wrapped bool
	next    uint32 // number of the next record
}

type span struct {
	off, n int
	number uint32
}

func (w *ring) add(b []byte, number, seq uint32) {
	if number == 0 {
		number = seq
	}
	for w.used+len(b)+eofSize > len(w.buf)-headerSize {
		w.used -= w.live[0].n
		w.live = w.live[1:]
	}
	w.live = append(w.live, span{w.pos, len(b), number})
	w.used += len(b)
	w.write(b)
	w.next = number + 1
}

// write copies b at the current position, splitting it across the end of
// the buffer as Windows does.
func (w *ring) write(b []byte) {
	for len(b) > 0 {
		n := copy(w.buf[w.pos:], b)
		b = b[n:]
		w.pos += n
		if w.pos == len(w.buf) {
			w.pos, w.wrapped = headerSize, true
		}
	}
}

func (w *ring) finish(dirty bool) {
	le := binary.LittleEndian
	start, oldest := headerSize, uint32(0)
	if len(w.live) > 0 {
		start, oldest = w.live[0].off, w.live[0].number
	}
	end := w.pos
	eof := make([]byte, eofSize)
	le.PutUint32(eof[0:], eofSize)
	for i, v := range []uint32{0x11111111, 0x22222222, 0x33333333, 0x44444444} {
		le.PutUint32(eof[4+4*i:], v)
	}
	le.PutUint32(eof[20:], uint32(start))
	le.PutUint32(eof[24:], uint32(end))
	le.PutUint32(eof[28:], w.next)
	le.PutUint32(eof[32:], oldest)
	le.PutUint32(eof[36:], eofSize)
	w.write(eof)

	h := w.buf[:headerSize]
	le.PutUint32(h[0:], headerSize)
	copy(h[4:], "LfLe")
	le.PutUint32(h[8:], 1)
	le.PutUint32(h[12:], 1)
	var flags uint32
	if w.wrapped {
		flags |= 0x2
	}
	if dirty {
		// A live log's header still says "empty" until it is closed.
		flags |= 0x1
		start, end = headerSize, headerSize
	}
	le.PutUint32(h[16:], uint32(start))
	le.PutUint32(h[20:], uint32(end))
	le.PutUint32(h[24:], w.next)
	le.PutUint32(h[28:], oldest)
	le.PutUint32(h[32:], uint32(len(w.buf)))
	le.PutUint32(h[36:], flags)
	le.PutUint32(h[40:], 0)
	le.PutUint32(h[44:], headerSize)
}

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u)+2)
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// sidBytes encodes "S-1-5-21-…" as a binary SID.
func sidBytes(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		return nil, fmt.Errorf("bad SID %q", s)
	}
	rev, err1 := strconv.ParseUint(parts[1], 10, 8)
	auth, err2 := strconv.ParseUint(parts[2], 10, 48)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad SID %q", s)
	}
	b := []byte{byte(rev), byte(len(parts) - 3)}
	for i := 5; i >= 0; i-- {
		b = append(b, byte(auth>>(8*i)))
	}
	for _, p := range parts[3:] {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad SID %q", s)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b, nil
}
