package writer

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// chunk is one 64 KiB chunk being filled. Offsets inside BinXml are
// relative to the chunk start, so records are encoded straight into buf.
type chunk struct {
	buf       []byte
	names     map[string]uint32
	strHeads  [64]uint32
	tmpls     map[string]uint32
	tmplHeads [32]uint32
	added     struct{ names, tmpls []string }

	firstID, lastID uint64
	lastRecord      uint32
	count           int
}

func newChunk() *chunk {
	c := &chunk{
		buf:   make([]byte, format.ChunkHeaderSize, format.ChunkSize),
		names: map[string]uint32{},
		tmpls: map[string]uint32{},
	}
	return c
}

// add encodes r at the end of the chunk; it reports false and leaves the
// chunk as it was when r does not fit.
func (c *chunk) add(r Record, t *template) (bool, error) {
	start, strHeads, tmplHeads := len(c.buf), c.strHeads, c.tmplHeads
	c.added.names, c.added.tmpls = c.added.names[:0], c.added.tmpls[:0]
	err := c.record(r, t)
	// A chunk filled to its last byte loses its last record in libevtx;
	// Windows never fills one exactly either.
	if err != nil || len(c.buf) > format.ChunkSize-8 {
		c.buf = c.buf[:start]
		c.strHeads, c.tmplHeads = strHeads, tmplHeads
		for _, n := range c.added.names {
			delete(c.names, n)
		}
		for _, k := range c.added.tmpls {
			delete(c.tmpls, k)
		}
		return false, err
	}
	if c.count == 0 {
		c.firstID = r.RecordID
	}
	c.lastID, c.lastRecord = r.RecordID, uint32(start)
	c.count++
	return true, nil
}

// record writes one event record: header, BinXml ending in EOF, padding to 8 bytes and
// the trailing copy of the size.
func (c *chunk) record(r Record, t *template) error {
	start := len(c.buf)
	c.buf = append(c.buf, format.RecordMagic...)
	size := c.placeholder()
	c.buf = binary.LittleEndian.AppendUint64(c.buf, r.RecordID)
	c.buf = binary.LittleEndian.AppendUint64(c.buf, toFileTime(r.TimeCreated))
	c.fragmentHeader()
	if err := c.templateInstance(t, recordValues(r)); err != nil {
		return err
	}
	c.u8(format.TokEOF) // libevtx reads the record's token stream up to it
	for (len(c.buf)-start+4)%8 != 0 {
		c.u8(0)
	}
	n := uint32(len(c.buf) - start + 4)
	c.u32(n)
	binary.LittleEndian.PutUint32(c.buf[size:], n)
	return nil
}

// finish fills the chunk header and returns the full 64 KiB chunk.
func (c *chunk) finish() []byte {
	free := len(c.buf)
	b := c.buf[:format.ChunkSize]
	clear(b[free:])
	h := b[:format.ChunkHeaderSize]
	copy(h, format.ChunkMagic)
	le := binary.LittleEndian
	// Record numbers and identifiers are the same: the writer numbers
	// records from 1 like a log that never wrapped.
	le.PutUint64(h[format.ChunkFirstRecordNumber:], c.firstID)
	le.PutUint64(h[format.ChunkLastRecordNumber:], c.lastID)
	le.PutUint64(h[format.ChunkFirstRecordID:], c.firstID)
	le.PutUint64(h[format.ChunkLastRecordID:], c.lastID)
	le.PutUint32(h[format.ChunkHeaderUsed:], format.HeaderUsed)
	le.PutUint32(h[format.ChunkLastRecord:], c.lastRecord)
	le.PutUint32(h[format.ChunkFreeSpace:], uint32(free))
	le.PutUint32(h[format.ChunkRecordsChecksum:], crc32.ChecksumIEEE(b[format.ChunkHeaderSize:free]))
	for i, off := range c.strHeads {
		le.PutUint32(h[format.ChunkStrings+4*i:], off)
	}
	for i, off := range c.tmplHeads {
		le.PutUint32(h[format.ChunkTemplates+4*i:], off)
	}
	crc := crc32.NewIEEE()
	crc.Write(h[:format.ChunkFlags])
	crc.Write(h[format.ChunkStrings:format.ChunkHeaderSize])
	le.PutUint32(h[format.ChunkChecksum:], crc.Sum32())
	return b
}
