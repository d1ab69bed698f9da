package writer

import (
	"encoding/binary"
	"hash/crc32"
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
		buf:   make([]byte, chunkHeaderSize, chunkSize),
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
	if err != nil || len(c.buf) > chunkSize-8 {
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
	c.u32(0x00002a2a)
	size := c.placeholder()
	c.buf = binary.LittleEndian.AppendUint64(c.buf, r.RecordID)
	c.buf = binary.LittleEndian.AppendUint64(c.buf, toFileTime(r.TimeCreated))
	c.fragmentHeader()
	if err := c.templateInstance(t, recordValues(r)); err != nil {
		return err
	}
	c.u8(tokEOF) // libevtx reads the record's token stream up to it
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
	b := c.buf[:chunkSize]
	clear(b[free:])
	h := b[:chunkHeaderSize]
	copy(h, "ElfChnk\x00")
	le := binary.LittleEndian
	le.PutUint64(h[8:], c.firstID) // first event record number
	le.PutUint64(h[16:], c.lastID)
	le.PutUint64(h[24:], c.firstID) // first event record identifier
	le.PutUint64(h[32:], c.lastID)
	le.PutUint32(h[40:], 128)
	le.PutUint32(h[44:], c.lastRecord)
	le.PutUint32(h[48:], uint32(free))
	le.PutUint32(h[52:], crc32.ChecksumIEEE(b[chunkHeaderSize:free]))
	for i, off := range c.strHeads {
		le.PutUint32(h[128+4*i:], off)
	}
	for i, off := range c.tmplHeads {
		le.PutUint32(h[384+4*i:], off)
	}
	crc := crc32.NewIEEE()
	crc.Write(h[:120])
	crc.Write(h[128:chunkHeaderSize])
	le.PutUint32(h[124:], crc.Sum32())
	return b
}
