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
const perWorker = 8

// batch is how many consecutive chunks a worker reads with one ReadAt: on
// a VM with page-table isolation a 64 KiB pread costs about a third more per
// byte than a 256 KiB one.
const batch = 4

// parallel decodes chunks on opts.Workers goroutines and delivers them in
// file order. There is no merge goroutine: the worker that completes the
// next chunk due delivers it (and any completed chunks after it) itself.
// A dispatcher, a merge goroutine, or both were measured to leave workers
// runnable but waiting for a core at every hand-off on a 2-core machine.
func (d *decoder) parallel(ra io.ReaderAt, chunks, count int, st *Stats, fn func(*Event) error) error {
	w := min(d.opts.Workers, max(chunks, 1))
	m := newMerge(chunks, perWorker*w, st, fn)
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newChunkState()
			buf := make([]byte, batch*chunkSize)
			for {
				first, n := m.claim()
				if n == 0 {
					return
				}
				d.decodeBatch(ra, c, buf[:n*chunkSize], first, count, m.finish)
			}
		}()
	}
	wg.Wait()
	return m.err
}

// decodeBatch reads chunks first… with one ReadAt and decodes them in turn.
func (d *decoder) decodeBatch(ra io.ReaderAt, c *chunkState, buf []byte, first, count int, done func(int, *chunkResult)) {
	base := fileHeaderSize + int64(first)*chunkSize
	m, err := ra.ReadAt(buf, base)
	for j := 0; j*chunkSize < len(buf); j++ {
		at := j * chunkSize
		var res chunkResult
		if at >= m && err != nil && err != io.EOF {
			res.err = fmt.Errorf("%s: read at offset %d: %w", d.file, base+int64(m), err)
		} else {
			c.reset(buf[min(at, m):min(at+chunkSize, m)], base+int64(at))
			d.chunk(c, first+j < count, &res.rep, func(ev *Event) error {
				res.events = append(res.events, ev)
				return nil
			})
		}
		done(first+j, &res)
	}
}

// merge hands out chunk indexes at most window ahead of the next chunk to
// deliver, and delivers completed chunks in order.
type merge struct {
	mu         sync.Mutex
	more       sync.Cond // signalled when next advances or the merge stops
	chunks     int
	window     int
	claimed    int // chunks handed out
	next       int // next chunk to deliver
	delivering bool
	slots      []*chunkResult // completed, undelivered chunk i at i%window
	err        error
	st         *Stats
	fn         func(*Event) error
}

func newMerge(chunks, window int, st *Stats, fn func(*Event) error) *merge {
	m := &merge{chunks: chunks, window: window, slots: make([]*chunkResult, window), st: st, fn: fn}
	m.more.L = &m.mu
	return m
}

// claim hands out up to batch consecutive chunks (first, n); n is 0 when
// there are none left or the merge stopped.
func (m *merge) claim() (first, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.err == nil && m.claimed < m.chunks && m.claimed+batch > m.next+m.window {
		m.more.Wait()
	}
	if m.err != nil || m.claimed >= m.chunks {
		return 0, 0
	}
	first, n = m.claimed, min(batch, m.chunks-m.claimed)
	m.claimed += n
	return first, n
}

// finish stores chunk i's result; unless another worker is delivering, this
// one delivers every completed chunk due, releasing the lock while fn runs.
func (m *merge) finish(i int, res *chunkResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots[i%m.window] = res
	if m.delivering {
		return // the active deliverer rechecks the slots after each chunk
	}
	m.delivering = true
	for m.err == nil {
		k := m.next % m.window
		r := m.slots[k]
		if r == nil {
			break
		}
		m.slots[k] = nil
		m.mu.Unlock()
		err := m.deliver(r)
		m.mu.Lock()
		m.next++
		if err != nil {
			m.err = err
		}
		m.more.Broadcast()
	}
	m.delivering = false
}

func (m *merge) deliver(r *chunkResult) error {
	m.st.fold(&r.rep)
	if r.err != nil {
		return r.err
	}
	for _, ev := range r.events {
		if err := m.fn(ev); err != nil {
			return err
		}
	}
	return nil
}
