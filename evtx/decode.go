package evtx

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
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
	// Render, with Output, writes every record as a JSON line or an XML
	// line instead of calling fn: straight from the record's substitution
	// values into a buffer reused chunk after chunk, no Event, tree or map
	// built (records of a shape only the tree renders exactly take that
	// path, with the same bytes). Output receives each chunk's lines in
	// file order; it must not keep the slice. Filter is ignored.
	Render Render
	Output func([]byte) error

	// noPlan renders every record without plans, noShare parses every
	// chunk's templates afresh (tests compare).
	noPlan, noShare bool
}

// rendering reports whether records are written to Output.
func (o *Options) rendering() bool { return o.Render != RenderNone && o.Output != nil }

// normalize fills what the options imply: rendering XML keeps the tree
// for the records that take the tree path.
func (o Options) normalize() Options {
	if o.rendering() {
		o.Filter = nil
		if o.Render == RenderXML {
			o.KeepTree = true
		}
	}
	return o
}

// ErrNotEVTX is returned, wrapped with the input name, when the bytes are
// not an EVTX file at all.
var ErrNotEVTX = errors.New("not an EVTX file (no ElfFile header)")

// IsEVTX reports whether head starts like an EVTX file.
func IsEVTX(head []byte) bool {
	return len(head) >= len(format.FileMagic) && string(head[:len(format.FileMagic)]) == format.FileMagic
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
	opts = opts.normalize()
	d := &decoder{file: name, opts: opts}
	head := make([]byte, format.FileHeaderSize)
	n, err := io.ReadFull(r, head)
	st.Bytes += int64(n)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return st, fmt.Errorf("%s: %w", name, err)
	}
	buf := make([]byte, format.ChunkSize)
	count, ok := d.header(head[:n], &st)
	if !ok {
		// A damaged file header is survivable when a chunk follows it.
		m, _ := io.ReadFull(r, buf)
		st.Bytes += int64(m)
		if n < format.FileHeaderSize || m < 8 || string(buf[:8]) != format.ChunkMagic {
			return Stats{Bytes: st.Bytes}, fmt.Errorf("%s: %w", name, ErrNotEVTX)
		}
		st.AddDamages(Damage{File: name, Kind: "header", Reason: "bad file signature; chunks read anyway"})
		return st, d.stream(r, buf, m, count, &st, fn)
	}
	if n < format.FileHeaderSize {
		st.AddDamages(Damage{File: name, Offset: int64(n), Kind: "file", Reason: "file truncated inside its header"})
		return st, nil
	}
	if opts.Workers > 1 {
		err := d.parallel(streamChunks(r), count, &st, fn)
		return st, err
	}
	return st, d.stream(r, buf, 0, count, &st, fn)
}

// header checks the file header and returns the chunk count it states.
func (d *decoder) header(head []byte, st *Stats) (int, bool) {
	if !IsEVTX(head) {
		return 0, false
	}
	if len(head) < format.HeaderUsed {
		return 0, true
	}
	if crc32.ChecksumIEEE(head[:format.FileFlags]) != le32(head[format.FileChecksum:]) {
		st.AddDamages(Damage{File: d.file, Kind: "header", Reason: "file header checksum mismatch (decoded anyway)"})
	}
	return int(le16(head[format.FileChunkCount:])), true
}

// stream decodes chunks read sequentially; pre holds bytes of the first
// chunk already read.
func (d *decoder) stream(r io.Reader, buf []byte, pre, count int, st *Stats, fn func(*Event) error) error {
	c := newChunkState()
	c.noShare = d.opts.noShare
	for i := 0; ; i++ {
		m, err := io.ReadFull(r, buf[pre:])
		m += pre
		pre = 0
		st.Bytes += int64(m - min(m, 0))
		if m == 0 {
			if err == nil || err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s: read at offset %d: %w", d.file, format.FileHeaderSize+int64(i)*format.ChunkSize, err)
		}
		c.reset(buf[:m], format.FileHeaderSize+int64(i)*format.ChunkSize)
		var rep chunkReport
		ferr := d.chunk(c, i < count, &rep, d.emitter(c, fn))
		st.fold(&rep)
		if ferr == nil && d.opts.rendering() && len(c.r.out) > 0 {
			ferr = d.opts.Output(c.r.out)
			c.r.out = c.r.out[:0]
		}
		if ferr != nil {
			return ferr
		}
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: read at offset %d: %w", d.file, format.FileHeaderSize+int64(i)*format.ChunkSize+int64(m), err)
		}
	}
}

func (s *Stats) fold(r *chunkReport) {
	s.Records += r.records
	s.Matched += r.matched
	s.direct += r.direct
	s.planned += r.planned
	s.work += r.work
	s.DamagedRecords += r.damagedRecords
	if r.damagedChunk {
		s.DamagedChunks++
	}
	s.AddDamages(r.damages...)
	s.DamagesOmitted += r.omitted
}

// DecodeFile decodes the file at path. With opts.Workers > 1 chunks are
// decoded in parallel and merged back in file order.
func DecodeFile(path string, opts Options, fn func(*Event) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, err
	}
	defer f.Close()
	opts = opts.normalize()
	if opts.Workers <= 1 {
		return Decode(f, path, opts, fn)
	}
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, err
	}
	head := make([]byte, format.FileHeaderSize)
	n, _ := io.ReadFull(f, head)
	st := Stats{Files: 1}
	d := &decoder{file: path, opts: opts}
	count, ok := d.header(head[:n], &st)
	if !ok || n < format.FileHeaderSize {
		// Damaged or tiny headers take the sequential path, which handles them.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return st, err
		}
		return Decode(f, path, opts, fn)
	}
	chunks := int((fi.Size() - format.FileHeaderSize + format.ChunkSize - 1) / format.ChunkSize)
	err = d.parallel(fileChunks(f, chunks), count, &st, fn)
	st.Bytes = fi.Size()
	return st, err
}

type chunkResult struct {
	events []*Event
	out    *[]byte // rendered lines (Options.Render), from outPool
	rep    chunkReport
	err    error
}

// count is the events the result holds, decoded or rendered.
func (r *chunkResult) count() int {
	if r.out != nil {
		return r.rep.matched
	}
	return len(r.events)
}

// outPool recycles the rendered chunks of the parallel window.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 128<<10); return &b }}

// emitter is what the tree path does with an event: fn's, or, when
// rendering, appending its line to the chunk's output.
func (d *decoder) emitter(c *chunkState, fn func(*Event) error) func(*Event) error {
	if !d.opts.rendering() {
		return fn
	}
	return func(ev *Event) error {
		if d.opts.Render == RenderXML {
			c.r.out = append(ev.AppendXML(c.r.out), '\n')
		} else {
			c.r.out = AppendJSON(c.r.out, ev)
		}
		return nil
	}
}

// perWorker is how many decoded chunks each worker may hold ahead of the
// merge, and perWorkerEvents how many events: together they bound memory
// (a full decode fills a chunk with about 130 events; a filtered one keeps
// few). The chunk window absorbs a worker losing its core for a while: at 8
// per worker the other worker sat waiting on the window for 60 ms of a
// 0.45 s scan; at 32, 8 ms.
//
// maxWindowWork bounds what the completed, undelivered events hold by the
// work their records took to build (see maxChunkWork): 1024 events of a
// template expansion bomb each just under maxRecordWork held gigabytes. Two
// busy real chunks fit in it; a chunk is always let through, so one over it
// cannot stall the merge.
const (
	perWorker       = 32
	perWorkerEvents = 1024
	maxWindowWork   = 2 * maxChunkWork
)

// batch is how many consecutive chunks a worker reads with one ReadAt: on
// a VM with page-table isolation a 64 KiB pread costs about a third more per
// byte than a 256 KiB one.
const batch = 4

// chunkSource reads the chunks of one input for parallel decoding.
type chunkSource struct {
	// total is the chunk count, or -1 for a stream read to its end.
	total int
	// read fills buf with the chunks from first on and returns the bytes
	// read. A ReaderAt source reads anywhere and is called by many workers
	// at once; a stream is read by one worker at a time, in claim order.
	read     func(buf []byte, first int) (int, error)
	streamed int64 // bytes a stream delivered
}

func (s *chunkSource) stream() bool { return s.total < 0 }

func fileChunks(ra io.ReaderAt, chunks int) *chunkSource {
	return &chunkSource{total: chunks, read: func(buf []byte, first int) (int, error) {
		return ra.ReadAt(buf, format.FileHeaderSize+int64(first)*format.ChunkSize)
	}}
}

// streamChunks reads an EVTX stream (an archive member, stdin) after its
// header. Reading is serial, but decoding is not: while one worker inflates
// and reads the next chunks, the others decode theirs.
func streamChunks(r io.Reader) *chunkSource {
	src := &chunkSource{total: -1}
	src.read = func(buf []byte, _ int) (int, error) {
		n, err := io.ReadFull(r, buf)
		src.streamed += int64(n)
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return n, err
	}
	return src
}

// parallel decodes chunks on opts.Workers goroutines and delivers them in
// file order. There is no merge goroutine: the worker that completes the
// next chunk due delivers it (and any completed chunks after it) itself.
// A dispatcher, a merge goroutine, or both were measured to leave workers
// runnable but waiting for a core at every hand-off on a 2-core machine.
func (d *decoder) parallel(src *chunkSource, count int, st *Stats, fn func(*Event) error) error {
	w := d.opts.Workers
	if !src.stream() {
		w = min(w, max(src.total, 1))
	}
	m := newMerge(src, perWorker*w, st, fn)
	if d.opts.rendering() {
		m.out = d.opts.Output
	}
	m.maxEvents = perWorkerEvents * w
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newChunkState()
			c.noShare = d.opts.noShare
			buf := make([]byte, batch*format.ChunkSize)
			for {
				b, ok := m.claim(buf)
				if !ok {
					return
				}
				d.decodeBatch(c, b, count, m.hold, m.finish)
			}
		}()
	}
	wg.Wait()
	st.Bytes += src.streamed
	return m.err
}

// claimed is a batch of n chunk indexes handed to a worker from first on:
// got bytes read into buf, and the read error, if any, that ended them.
type claimed struct {
	buf   []byte
	first int
	n     int
	got   int
	err   error
}

// decodeBatch decodes the chunks of a batch in turn; a read error becomes
// the result of the chunk where reading stopped, delivered in its place.
func (d *decoder) decodeBatch(c *chunkState, b claimed, count int, hold func(int), done func(int, *chunkResult)) {
	base := format.FileHeaderSize + int64(b.first)*format.ChunkSize
	for j := range b.n {
		hold(b.first + j)
		at := j * format.ChunkSize
		var res chunkResult
		if at >= b.got && b.err != nil && b.err != io.EOF {
			res.err = fmt.Errorf("%s: read at offset %d: %w", d.file, base+int64(b.got), b.err)
			done(b.first+j, &res)
			return
		}
		c.reset(b.buf[min(at, b.got):min(at+format.ChunkSize, b.got)], base+int64(at))
		if d.opts.rendering() {
			res.out = outPool.Get().(*[]byte)
			c.r.out = (*res.out)[:0]
			d.chunk(c, b.first+j < count, &res.rep, d.emitter(c, nil))
			*res.out = c.r.out
			c.r.out = nil
		} else {
			d.chunk(c, b.first+j < count, &res.rep, func(ev *Event) error {
				res.events = append(res.events, ev)
				return nil
			})
		}
		done(b.first+j, &res)
	}
}

// merge hands out chunk indexes at most window ahead of the next chunk to
// deliver, and delivers completed chunks in order.
type merge struct {
	mu         sync.Mutex
	readMu     sync.Mutex // a stream's reads, in claim order
	more       sync.Cond  // signalled when next advances or the merge stops
	src        *chunkSource
	chunks     int // known once a stream has ended; -1 before
	window     int
	maxEvents  int // events completed and not yet delivered, at most
	events     int
	work       int // of those events, by the work their records took
	claimed    int // chunks handed out
	next       int // next chunk to deliver
	delivering bool
	slots      []*chunkResult // completed, undelivered chunk i at i%window
	err        error
	st         *Stats
	fn         func(*Event) error
	out        func([]byte) error // rendering: where chunks' lines go
}

func newMerge(src *chunkSource, window int, st *Stats, fn func(*Event) error) *merge {
	m := &merge{src: src, chunks: src.total, window: window, slots: make([]*chunkResult, window), st: st, fn: fn}
	m.more.L = &m.mu
	return m
}

// claim hands the caller the next batch of up to batch chunks, read into
// buf; false when there are none left or the merge stopped.
func (m *merge) claim(buf []byte) (claimed, bool) {
	if m.src.stream() {
		return m.claimStream(buf)
	}
	m.mu.Lock()
	if !m.room() {
		m.mu.Unlock()
		return claimed{}, false
	}
	b := claimed{buf: buf[:min(batch, m.chunks-m.claimed)*format.ChunkSize], first: m.claimed}
	b.n = len(b.buf) / format.ChunkSize
	m.claimed += b.n
	m.mu.Unlock()
	b.got, b.err = m.src.read(b.buf, b.first)
	return b, true
}

// claimStream reads the next batch of a stream. readMu keeps reads in claim
// order without holding mu, which the workers delivering chunks need.
func (m *merge) claimStream(buf []byte) (claimed, bool) {
	m.readMu.Lock()
	defer m.readMu.Unlock()
	m.mu.Lock()
	ok := m.room()
	b := claimed{buf: buf, first: m.claimed}
	m.mu.Unlock()
	if !ok {
		return claimed{}, false
	}
	b.got, b.err = m.src.read(buf, b.first)
	b.n = (b.got + format.ChunkSize - 1) / format.ChunkSize
	if b.err != nil && b.err != io.EOF {
		b.n++ // the read error is delivered after the chunks read
	}
	m.mu.Lock()
	m.claimed += b.n
	if b.err != nil {
		m.chunks = m.claimed
	}
	m.mu.Unlock()
	return b, b.n > 0
}

// room waits (mu held) until the window lets another batch be claimed, and
// reports whether one may be: false when the merge stopped or no chunks are
// left. A batch may take one index more than batch (a stream's read error),
// which must not reach the slot of the undelivered chunk next.
func (m *merge) room() bool {
	for m.err == nil && m.left() && (m.claimed+batch+1 > m.next+m.window || m.events > m.maxEvents || m.work > maxWindowWork) {
		m.more.Wait()
	}
	return m.err == nil && m.left()
}

// hold waits before chunk i of a claimed batch is decoded while the window
// holds more than maxWindowWork, unless i is the chunk due next (which must
// always proceed, or nothing would be delivered).
func (m *merge) hold(i int) {
	m.mu.Lock()
	for m.err == nil && m.work > maxWindowWork && i != m.next {
		m.more.Wait()
	}
	m.mu.Unlock()
}

func (m *merge) left() bool { return m.chunks < 0 || m.claimed < m.chunks }

// finish stores chunk i's result; unless another worker is delivering, this
// one delivers every completed chunk due, releasing the lock while fn runs.
func (m *merge) finish(i int, res *chunkResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots[i%m.window] = res
	m.events += res.count()
	m.work += res.rep.kept
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
		m.events -= r.count()
		m.work -= r.rep.kept
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
	if r.out != nil {
		var err error
		if len(*r.out) > 0 {
			err = m.out(*r.out)
		}
		*r.out = (*r.out)[:0]
		outPool.Put(r.out)
		return err
	}
	for _, ev := range r.events {
		if err := m.fn(ev); err != nil {
			return err
		}
	}
	return nil
}
