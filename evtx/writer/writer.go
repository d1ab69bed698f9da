// Package writer encodes events as EVTX files the way Windows writes them:
// a 4 KiB file header, 64 KiB chunks each with its string table, template
// definitions written once per chunk and referenced after, records holding
// BinXml template instances with typed substitutions, and every checksum.
//
// It exists because no public log holds the licensing events tsdiag
// diagnoses; tests, the demo and the benchmarks write their own.
package writer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// maxChunks is the most the file header can count (format.FileChunkCount
// is 16 bits).
const maxChunks = 0xffff

// Writer writes an EVTX file. Records are streamed chunk by chunk when the
// destination can seek (the header is completed on Close); otherwise the
// file is assembled in memory and written on Close.
type Writer struct {
	out     io.Writer
	seeker  io.WriteSeeker
	mem     bytes.Buffer
	cur     *chunk
	chunks  int
	nextID  uint64
	tmpl    templateCache
	err     error
	started bool
	closed  bool
}

// New returns a Writer to w.
func New(w io.Writer) *Writer {
	wr := &Writer{out: w, nextID: 1}
	if s, ok := w.(io.WriteSeeker); ok {
		wr.seeker = s
	}
	return wr
}

// Write appends one record. A record id of 0 takes the next id.
func (w *Writer) Write(r Record) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("evtx writer: write after Close")
	}
	if err := r.Payload.validate(); err != nil {
		return fmt.Errorf("evtx writer: record %d (event %d): %w", w.nextID, r.EventID, err)
	}
	if r.RecordID == 0 {
		r.RecordID = w.nextID
	}
	if err := w.place(r); err != nil {
		w.err = err
		return err
	}
	w.nextID = r.RecordID + 1
	return nil
}

// place puts r in the current chunk, or in a fresh one when it does not fit.
func (w *Writer) place(r Record) error {
	if err := w.begin(); err != nil {
		return err
	}
	if w.cur == nil {
		w.cur = newChunk()
	}
	t := w.tmpl.get(r.Payload)
	fits, err := w.cur.add(r, t)
	if err != nil || fits {
		return err
	}
	if w.cur.count == 0 {
		return fmt.Errorf("evtx writer: record %d does not fit in an empty chunk", r.RecordID)
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.cur = newChunk()
	fits, err = w.cur.add(r, t)
	if err == nil && !fits {
		err = fmt.Errorf("evtx writer: record %d does not fit in an empty chunk", r.RecordID)
	}
	return err
}

// begin reserves room for the file header on a seekable destination.
func (w *Writer) begin() error {
	if w.started || w.seeker == nil {
		w.started = true
		return nil
	}
	w.started = true
	_, err := w.out.Write(make([]byte, format.FileHeaderSize))
	return err
}

func (w *Writer) flush() error {
	if w.chunks == maxChunks {
		return fmt.Errorf("evtx writer: more than %d chunks", maxChunks)
	}
	b := w.cur.finish()
	w.chunks++
	if w.seeker == nil {
		w.mem.Write(b)
		return nil
	}
	_, err := w.out.Write(b)
	return err
}

// Close writes the last chunk and the file header. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if err := w.begin(); err != nil {
		return err
	}
	if w.cur != nil && w.cur.count > 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	return w.writeHeader(fileHeader(w.chunks, w.nextID))
}

func (w *Writer) writeHeader(h []byte) error {
	if w.seeker == nil {
		if _, err := w.out.Write(h); err != nil {
			return err
		}
		_, err := w.out.Write(w.mem.Bytes())
		return err
	}
	end, err := w.seeker.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := w.seeker.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := w.out.Write(h); err != nil {
		return err
	}
	_, err = w.seeker.Seek(end, io.SeekStart)
	return err
}

func fileHeader(chunks int, nextID uint64) []byte {
	h := make([]byte, format.FileHeaderSize)
	copy(h, format.FileMagic)
	last := uint64(0)
	if chunks > 0 {
		last = uint64(chunks - 1)
	}
	le := binary.LittleEndian
	le.PutUint64(h[format.FileFirstChunk:], 0)
	le.PutUint64(h[format.FileLastChunk:], last)
	le.PutUint64(h[format.FileNextRecordID:], nextID)
	le.PutUint32(h[format.FileHeaderUsed:], format.HeaderUsed)
	le.PutUint16(h[format.FileMinorVersion:], 1) // 3.1, what Windows Vista and later write
	le.PutUint16(h[format.FileMajorVersion:], 3)
	le.PutUint16(h[format.FileBlockSize:], format.FileHeaderSize)
	le.PutUint16(h[format.FileChunkCount:], uint16(chunks))
	le.PutUint32(h[format.FileChecksum:], crc32.ChecksumIEEE(h[:format.FileFlags]))
	return h
}
