package evtx

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// chunkState holds one chunk's bytes and the names and templates parsed
// from it; both caches are only valid within the chunk.
type chunkState struct {
	buf   []byte
	base  int64 // file offset of the chunk
	names offTable[string]
	tmpls offTable[*template]

	// work is what the chunk's records have spent of maxChunkWork.
	work int

	// Per-record scratch, reused from record to record.
	vals  []value
	nodes []Node
	// tmplArena holds the parsed templates (valid for the chunk, like
	// tmpls), recArena the current record's parse.
	tmplArena, recArena arena
	tmplS               slab[template]
	bd                  builder

	// shared keeps templates across chunks (shared.go); noShare turns
	// that off (tests compare).
	shared  sharedTemplates
	noShare bool

	// r renders records straight to output (Options.Render).
	r renderer

	// strs interns short decoded strings (provider, computer, channel
	// names repeat in every record) so they are converted once.
	strs map[string]string
}

func newChunkState() *chunkState {
	c := &chunkState{strs: make(map[string]string, 256)}
	c.r.c = c
	return c
}

func (c *chunkState) reset(buf []byte, base int64) {
	c.buf, c.base = buf, base
	c.work = 0
	c.names.reset()
	c.tmpls.reset()
	c.tmplArena.reset()
	c.tmplS.reset()
	if len(c.strs) > 4096 {
		clear(c.strs)
	}
}

// utf16 decodes a UTF-16 value, interning short ones.
func (c *chunkState) utf16(b []byte) string {
	if len(b) > 128 {
		return decodeUTF16(b)
	}
	if s, ok := c.strs[string(b)]; ok {
		return s
	}
	s := decodeUTF16(b)
	c.strs[string(b)] = s
	return s
}

// nameAt reads the name structure at a chunk offset: next offset (4),
// hash (2), character count (2), UTF-16 characters, NUL.
func (c *chunkState) nameAt(off int) string {
	if s, ok := c.names.get(off); ok {
		return s
	}
	if off < 0 || off+8 > len(c.buf) {
		fail(off, "name offset %d outside the chunk", off)
	}
	n := int(le16(c.buf[off+6:]))
	if off+8+2*n > len(c.buf) {
		fail(off, "name at offset %d runs past the chunk", off)
	}
	s := c.utf16(c.buf[off+8 : off+8+2*n])
	c.names.put(off, s)
	return s
}

func (c *chunkState) plausibleName(off, here int) bool {
	if off == here {
		return true
	}
	if _, ok := c.names.get(off); ok {
		return true
	}
	return off >= format.ChunkHeaderSize && off < here && off+8 <= len(c.buf)
}

func (c *chunkState) templateAt(off, depth int) *template {
	if t, ok := c.tmpls.get(off); ok {
		return t
	}
	if off < format.ChunkHeaderSize || off+24 > len(c.buf) {
		return nil
	}
	var t *template
	if !c.noShare {
		t = c.sharedTemplateAt(off, depth+1)
	}
	if t == nil {
		t = parseTemplate(c, off, depth+1)
	}
	c.tmpls.put(off, t)
	return t
}

// chunkReport is what decoding one chunk produced besides events.
type chunkReport struct {
	records, matched, damagedRecords int
	damagedChunk                     bool
	damages                          []Damage
	omitted                          int // damages past MaxDamagesPerFile in this chunk
	work                             int // units of work spent building records
	kept                             int // of which records emitted (what their events hold)
	direct                           int // records rendered straight from their values
	planned                          int // of which by a plan
}

// damage records one damaged place; past MaxDamagesPerFile in one chunk it
// is only counted, so a chunk of damage every 8 bytes stays small while it
// waits in the parallel merge window.
func (r *chunkReport) damage(file string, off int64, kind, format string, args ...any) {
	if len(r.damages) >= MaxDamagesPerFile {
		r.omitted++
		return
	}
	r.damages = append(r.damages, Damage{File: file, Offset: off, Kind: kind, Reason: fmt.Sprintf(format, args...)})
}

// decoder decodes chunks for one file.
type decoder struct {
	file string
	opts Options
}

// chunk decodes every record of one chunk, calling emit for each event the
// filter accepts. It returns emit's error, if any; damage goes to rep.
func (d *decoder) chunk(c *chunkState, inCount bool, rep *chunkReport, emit func(*Event) error) (err error) {
	// Records recover their own failures; this is the last line, so that
	// no input can take the process down.
	defer func() {
		if r := recover(); r != nil {
			rep.damagedChunk = true
			rep.damage(d.file, c.base, "chunk", "chunk abandoned: %s", describe(r))
		}
	}()
	buf := c.buf
	if len(buf) < format.ChunkHeaderSize || string(buf[:8]) != format.ChunkMagic {
		if allZero(buf) {
			return nil // unused, preallocated space
		}
		if inCount || len(buf) >= format.ChunkHeaderSize && bytes.Contains(buf[format.ChunkHeaderSize:], []byte(format.RecordMagic)) {
			rep.damagedChunk = true
			rep.damage(d.file, c.base, "chunk", "bad chunk signature %q; chunk skipped", printable(buf[:min(8, len(buf))]))
		}
		return nil
	}
	d.checkChunk(c, rep)
	limit := int(le32(buf[format.ChunkFreeSpace:]))
	declared := limit >= format.ChunkHeaderSize && limit <= len(buf)
	if !declared {
		limit = len(buf)
	}
	off := format.ChunkHeaderSize
	for off+format.RecordHeaderSize <= limit {
		if string(buf[off:off+4]) != format.RecordMagic {
			next := d.resync(c, off, limit, declared, rep)
			if next < 0 {
				break
			}
			off = next
			continue
		}
		size := int(le32(buf[off+format.RecordSize:]))
		if size < format.RecordHeaderSize+4 || off+size > len(buf) {
			rep.damagedRecords++
			rep.damage(d.file, c.base+int64(off), "record", "record size %d does not fit the chunk (truncated record)", size)
			i := bytes.Index(buf[off+4:limit], []byte(format.RecordMagic))
			if i < 0 {
				break
			}
			off += 4 + i
			continue
		}
		if err := d.record(c, off, size, rep, emit); err != nil {
			return err
		}
		off += size
	}
	return nil
}

// resync skips bytes that are not a record: zeros end the chunk quietly,
// anything else is reported and scanning resumes at the next record magic.
func (d *decoder) resync(c *chunkState, off, limit int, declared bool, rep *chunkReport) int {
	if allZero(c.buf[off:limit]) {
		if declared {
			// The header says records reach the free-space offset: the
			// zeros replaced records, which is damage, not slack.
			rep.damagedChunk = true
			rep.damage(d.file, c.base+int64(off), "chunk", "%d bytes of records zeroed (chunk header lists records up to number %d)",
				limit-off, le64(c.buf[format.ChunkLastRecordNumber:]))
		}
		return -1
	}
	i := bytes.Index(c.buf[off+1:limit], []byte(format.RecordMagic))
	rep.damagedRecords++
	if i < 0 {
		rep.damage(d.file, c.base+int64(off), "record", "%d bytes of unreadable data at the end of the chunk", limit-off)
		return -1
	}
	rep.damage(d.file, c.base+int64(off), "record", "%d bytes of unreadable data before the next record", i+1)
	return off + 1 + i
}

func (d *decoder) checkChunk(c *chunkState, rep *chunkReport) {
	buf := c.buf
	if len(buf) < format.ChunkSize {
		rep.damagedChunk = true
		rep.damage(d.file, c.base, "chunk", "chunk truncated to %d of %d bytes", len(buf), format.ChunkSize)
	}
	h := crc32.NewIEEE()
	h.Write(buf[:format.ChunkFlags])
	h.Write(buf[format.ChunkStrings:format.ChunkHeaderSize])
	if h.Sum32() != le32(buf[format.ChunkChecksum:]) {
		rep.damagedChunk = true
		rep.damage(d.file, c.base, "chunk", "chunk header checksum mismatch (decoded anyway)")
	}
	free := int(le32(buf[format.ChunkFreeSpace:]))
	if free >= format.ChunkHeaderSize && free <= len(buf) && crc32.ChecksumIEEE(buf[format.ChunkHeaderSize:free]) != le32(buf[format.ChunkRecordsChecksum:]) {
		rep.damagedChunk = true
		rep.damage(d.file, c.base, "chunk", "event records checksum mismatch (decoded anyway)")
	}
}

// record decodes one record, converting any failure into damage.
func (d *decoder) record(c *chunkState, off, size int, rep *chunkReport, emit func(*Event) error) (err error) {
	if d.opts.rendering() {
		c.r.mode, c.r.noPlan = d.opts.Render, d.opts.noPlan
		before := c.r.planned
		ok, big := c.r.record(off, size)
		rep.planned += c.r.planned - before
		if ok || big {
			spent := c.bd.spent()
			c.work += spent
			rep.work += spent
			if big {
				rep.damagedRecords++
				rep.damage(d.file, c.base+int64(off), "record", "record %d renders to more than %d MiB; not written",
					le64(c.buf[off+format.RecordID:]), maxRecordOutput>>20)
				return nil
			}
			rep.records++
			rep.matched++
			rep.direct++
			// What the window holds is the lines, so they count too.
			rep.kept += spent + (len(c.r.out)-c.r.line)>>4
			return nil
		}
	}
	var ev *Event
	func() {
		defer func() {
			if r := recover(); r != nil {
				ev = nil
				rep.damagedRecords++
				rep.damage(d.file, c.base+int64(off), "record", "record %d: %s", le64(c.buf[off+format.RecordID:]), describe(r))
			}
		}()
		ev = d.decodeRecord(c, off, size)
	}()
	spent := c.bd.spent()
	c.work += spent
	rep.work += spent
	if ev == nil {
		return nil
	}
	rep.records++
	if ev == filteredOut {
		return nil
	}
	if d.opts.Filter != nil && !d.opts.Filter(ev.Provider, ev.EventID) {
		return nil
	}
	rep.matched++
	rep.kept += spent
	return emit(ev)
}

// filteredOut marks a record the filter rejected before its payload was
// built; it is counted as decoded but never reaches the caller.
var filteredOut = &Event{}

func describe(r any) string {
	if e, ok := r.(decodeError); ok {
		return e.reason + fmt.Sprintf(" (chunk offset %d)", e.off)
	}
	return fmt.Sprint(r)
}

// decodeRecord parses the record's BinXml. With a filter, the provider and
// event id are peeked from the template instance's values first, and the
// tree is built only for records the filter accepts.
func (d *decoder) decodeRecord(c *chunkState, off, size int) *Event {
	c.vals = c.vals[:0]
	c.recArena.reset()
	c.bd.start, c.bd.budget = 0, 0 // nothing spent if parsing fails
	p := parser{c: c, ar: &c.recArena, b: c.buf, pos: off + format.RecordHeaderSize, end: off + size - 4}
	items := p.fragment()
	bd := c.newBuilder()
	if !d.opts.KeepTree {
		// The tree is dropped once the Event is filled, so its nodes
		// can be recycled for the next record.
		bd.reuse = true
	}
	if d.opts.Filter != nil {
		if prov, id, ok := peek(bd, items); ok && !d.opts.Filter(prov, id) {
			return filteredOut
		}
	}
	root := bd.node("")
	bd.content(root, items, nil)
	evNode := root.Child("Event")
	if evNode == nil {
		if len(root.Children) == 0 {
			fail(off, "record holds no element")
		}
		evNode = root.Children[0]
	}
	ev := EventFromTree(evNode)
	// A record caught while being written has zeroed values; its header
	// still holds the real record id and write time.
	if ev.RecordID == 0 {
		ev.RecordID = le64(c.buf[off+format.RecordID:])
	}
	if ev.TimeCreated.Year() <= 1601 {
		ev.TimeCreated = fileTime(le64(c.buf[off+format.RecordWriteTime:]))
	}
	ev.File, ev.Offset = d.file, c.base+int64(off)
	if !d.opts.KeepTree {
		ev.Tree = nil
	}
	return ev
}

// peek reads Provider and EventID from the record's template instance.
func peek(bd *builder, items []item) (string, uint16, bool) {
	for _, it := range items {
		if it.kind != itInst {
			continue
		}
		t := it.inst.t
		if t.eventID == nil || (t.provider == nil && t.source == nil) {
			return "", 0, false
		}
		prov := bd.text(t.provider, it.inst.vals)
		if prov == "" && t.source != nil {
			prov = bd.text(t.source, it.inst.vals)
		}
		return prov, peekID(bd, t.eventID, it.inst.vals), true
	}
	return "", 0, false
}

// peekID reads the event id, straight from a UInt16 value in the usual
// case of a single substitution.
func peekID(bd *builder, items []item, vals []value) uint16 {
	if len(items) == 1 && items[0].kind == itSub && items[0].sub < len(vals) {
		if v := vals[items[0].sub]; v.typ == format.TypeUint16 && v.n == 2 {
			return le16(bd.c.buf[v.off:])
		}
	}
	return uint16(parseUint(bd.text(items, vals), 16))
}

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if le64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, string(b))
}
