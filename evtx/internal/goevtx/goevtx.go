// Package goevtx drives github.com/0xrawsec/golang-evtx as the baseline our
// decoder is compared and benchmarked against.
//
// Its own iterators (File.Events, FastEvents) decode in goroutines that
// panic on damaged input and take the process down, so this driver walks the
// file chunk by chunk and record by record on the caller's goroutine, with a
// recover around each step: the baseline then gets its best possible count.
package goevtx

import (
	"fmt"
	"io"
	"os"

	gevtx "github.com/0xrawsec/golang-evtx/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// Counts says how far the baseline got through a file.
type Counts struct {
	Records      int // records decoded into maps
	FailedRecord int // records that errored or panicked
	FailedChunks int // chunks that could not be parsed at all
}

// DecodeFile decodes every record golang-evtx can read and passes each map to fn.
func DecodeFile(path string, fn func(*gevtx.GoEvtxMap)) (Counts, error) {
	f, err := os.Open(path)
	if err != nil {
		return Counts{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Counts{}, err
	}
	return decode(f, st.Size(), fn)
}

func decode(r io.ReadSeeker, size int64, fn func(*gevtx.GoEvtxMap)) (c Counts, err error) {
	ef, err := openFile(r)
	if err != nil {
		return c, err
	}
	for off := int64(format.FileHeaderSize); off+format.ChunkSize <= size; off += format.ChunkSize {
		chunk, ok := fetchChunk(&ef, off)
		if !ok {
			c.FailedChunks++
			continue
		}
		for _, eo := range chunk.EventOffsets {
			if m, ok := decodeRecord(&chunk, int64(eo)); ok {
				c.Records++
				if fn != nil {
					fn(m)
				}
			} else {
				c.FailedRecord++
			}
		}
	}
	return c, nil
}

func openFile(r io.ReadSeeker) (ef gevtx.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("golang-evtx panicked on the file header: %v", p)
		}
	}()
	return gevtx.New(r)
}

func fetchChunk(ef *gevtx.File, off int64) (c gevtx.Chunk, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	c, err := ef.FetchChunk(off)
	if err != nil || string(c.Header.Magic[:]) != format.ChunkMagic {
		return c, false
	}
	return c, true
}

func decodeRecord(c *gevtx.Chunk, off int64) (m *gevtx.GoEvtxMap, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m, err := c.ParseEvent(off).GoEvtxMap(c)
	return m, err == nil && m != nil
}

// gevtxMap is golang-evtx's decoded record, named here for callers' tests.
type gevtxMap = gevtx.GoEvtxMap
