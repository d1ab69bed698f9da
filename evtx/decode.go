package evtx

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
)

// Options control a decode.
type Options struct {
	// Filter, when set, is asked before a record's payload is built;
	// rejected records are counted in Stats.Records but cost almost nothing.
	Filter Filter
	// KeepTree fills Event.Tree (the element tree) for XML rendering.
	KeepTree bool
	// Workers decodes chunks in parallel (DecodeFile only); events still
	// reach fn in file order. 0 or 1 decodes sequentially.
	Workers int
}

// ErrNotEVTX is returned, wrapped with the input name, when the bytes are
// not an EVTX file at all.
var ErrNotEVTX = errors.New("not an EVTX file (no ElfFile header)")

// IsEVTX reports whether head starts like an EVTX file.
func IsEVTX(head []byte) bool {
	return len(head) >= 8 && bytes.Equal(head[:8], fileMagic)
}

// Decode reads an EVTX stream chunk by chunk and calls fn for every event
// the filter accepts, in file order. Memory stays at one chunk whatever the
// input size. Each Event is freshly allocated: fn may keep it.
//
// Damaged input never stops the decode; it is reported in Stats. Decode
// returns an error only when the input is not EVTX, cannot be read, or fn
// returns one (which stops the decode and is returned as is).
func Decode(r io.Reader, name string, opts Options, fn func(*Event) error) (Stats, error) {
	st := Stats{Files: 1}
	d := &decoder{file: name, opts: opts}
	head := make([]byte, fileHeaderSize)
	n, err := io.ReadFull(r, head)
	st.Bytes += int64(n)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return st, fmt.Errorf("%s: %w", name, err)
	}
	buf := make([]byte, chunkSize)
	count, ok := d.header(head[:n], &st)
	if !ok {
		// A damaged file header is survivable when a chunk follows it.
		m, _ := io.ReadFull(r, buf)
		st.Bytes += int64(m)
		if n < fileHeaderSize || m < 8 || !bytes.Equal(buf[:8], chunkMagic) {
			return Stats{Bytes: st.Bytes}, fmt.Errorf("%s: %w", name, ErrNotEVTX)
		}
		st.Damages = append(st.Damages, Damage{File: name, Kind: "header", Reason: "bad file signature; chunks read anyway"})
		return st, d.stream(r, buf, m, count, &st, fn)
	}
	if n < fileHeaderSize {
		st.Damages = append(st.Damages, Damage{File: name, Offset: int64(n), Kind: "file", Reason: "file truncated inside its header"})
		return st, nil
	}
	return st, d.stream(r, buf, 0, count, &st, fn)
}

// header checks the file header and returns the chunk count it states.
func (d *decoder) header(head []byte, st *Stats) (int, bool) {
	if !IsEVTX(head) {
		return 0, false
	}
	if len(head) < 128 {
		return 0, true
	}
	if crc32.ChecksumIEEE(head[:120]) != le32(head[124:]) {
		st.Damages = append(st.Damages, Damage{File: d.file, Kind: "header", Reason: "file header checksum mismatch (decoded anyway)"})
	}
	return int(le16(head[42:])), true
}

// stream decodes chunks read sequentially; pre holds bytes of the first
// chunk already read.
func (d *decoder) stream(r io.Reader, buf []byte, pre, count int, st *Stats, fn func(*Event) error) error {
	c := newChunkState()
	for i := 0; ; i++ {
		m, err := io.ReadFull(r, buf[pre:])
		m += pre
		pre = 0
		st.Bytes += int64(m - min(m, 0))
		if m == 0 {
			if err == nil || err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s: read at offset %d: %w", d.file, fileHeaderSize+int64(i)*chunkSize, err)
		}
		c.reset(buf[:m], fileHeaderSize+int64(i)*chunkSize)
		var rep chunkReport
		ferr := d.chunk(c, i < count, &rep, fn)
		st.fold(&rep)
		if ferr != nil {
			return ferr
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: read at offset %d: %w", d.file, fileHeaderSize+int64(i)*chunkSize+int64(m), err)
		}
	}
}

func (s *Stats) fold(r *chunkReport) {
	s.Records += r.records
	s.Matched += r.matched
	s.DamagedRecords += r.damagedRecords
	if r.damagedChunk {
		s.DamagedChunks++
	}
	s.Damages = append(s.Damages, r.damages...)
}

// DecodeFile decodes the file at path. With opts.Workers > 1 chunks are
// decoded in parallel and merged back in file order.
func DecodeFile(path string, opts Options, fn func(*Event) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	if opts.Workers <= 1 {
		return Decode(f, path, opts, fn)
	}
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, err
	}
	head := make([]byte, fileHeaderSize)
	n, _ := io.ReadFull(f, head)
	st := Stats{Files: 1}
	d := &decoder{file: path, opts: opts}
	count, ok := d.header(head[:n], &st)
	if !ok || n < fileHeaderSize {
		// Damaged or tiny headers take the sequential path, which handles them.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return st, err
		}
		return Decode(f, path, opts, fn)
	}
	st.Bytes = fi.Size()
	chunks := int((fi.Size() - fileHeaderSize + chunkSize - 1) / chunkSize)
	return st, d.parallel(f, chunks, count, &st, fn)
}

type chunkResult struct {
	events []*Event
	rep    chunkReport
	err    error
}

// perWorker is how many decoded chunks each worker may hold ahead of the
// merge; it bounds memory and absorbs uneven chunk costs.
const perWorker = 4

// parallel decodes chunks on opts.Workers goroutines. Worker k takes chunks
// k, k+W, k+2W… and the merge reads them back in the same rotation, so the
// order needs no coordinator: no dispatcher goroutine, no channel per chunk.
// (A dispatcher handing out jobs was measured to leave workers runnable but
// waiting for a core most of the time on a 2-core machine.)
func (d *decoder) parallel(ra io.ReaderAt, chunks, count int, st *Stats, fn func(*Event) error) error {
	w := min(d.opts.Workers, max(chunks, 1))
	outs := make([]chan chunkResult, w)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for k := range outs {
		outs[k] = make(chan chunkResult, perWorker)
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			defer close(outs[k])
			c := newChunkState()
			buf := make([]byte, chunkSize)
			for i := k; i < chunks; i += w {
				select {
				case outs[k] <- d.decodeAt(ra, c, buf, i, count):
				case <-done:
					return
				}
			}
		}(k)
	}
	defer wg.Wait()
	defer close(done)
	for i := 0; i < chunks; i++ {
		res := <-outs[i%w]
		st.fold(&res.rep)
		if res.err != nil {
			return res.err
		}
		for _, ev := range res.events {
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *decoder) decodeAt(ra io.ReaderAt, c *chunkState, buf []byte, idx, count int) chunkResult {
	base := fileHeaderSize + int64(idx)*chunkSize
	m, err := ra.ReadAt(buf, base)
	if m == 0 && err != nil && err != io.EOF {
		return chunkResult{err: fmt.Errorf("%s: read at offset %d: %w", d.file, base, err)}
	}
	c.reset(buf[:m], base)
	var res chunkResult
	d.chunk(c, idx < count, &res.rep, func(ev *Event) error {
		res.events = append(res.events, ev)
		return nil
	})
	return res
}
