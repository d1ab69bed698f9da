package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/spool"
)

// klauspost/compress inflates about twice as fast as the standard library
// (measured on the .ci/bench bundle, 199 MB in 14 MB: gzip 0.82-0.98 s
// against 1.66-1.95 s, zip members 1.02-1.23 s against 1.2-1.95 s, one
// core); its gzip and flate readers are drop-in replacements.
func inflater(r io.Reader) io.ReadCloser { return flate.NewReader(r) }

// archive is one bundle being read. Nested bundles share their top-level
// bundle's budget, so limits hold for the whole tree.
type archive struct {
	name    string
	nesting int // 0 for a bundle named as input (or found in a directory)
	budget  *budget
	// failed is set once a read error of the archive's own stream has been
	// reported (at the member it cut short), so it is reported once.
	failed bool
}

// budget is what one top-level archive may still use; scan is the walk's
// budget for all archives together.
type budget struct {
	bytesLeft int64
	members   int
	stopped   bool // a whole-archive limit was hit; read nothing more
	scan      *scanBudget
}

type scanBudget struct {
	bytesLeft int64
	members   int
}

func (w *walker) newArchive(name string) *archive {
	return &archive{name: name, budget: &budget{bytesLeft: w.opts.MaxArchiveBytes, scan: &w.scan}}
}

// child is the archive context of a bundle found inside a.
func (a *archive) child(name string) *archive {
	return &archive{name: name, nesting: a.nesting + 1, budget: a.budget}
}

// limitError is a limit being hit; its text says which and how to raise it.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// limited meters what is read out of an archive: the top-level budget of
// uncompressed bytes, and the expansion ratio against the compressed bytes
// consumed so far.
type limited struct {
	r          io.Reader
	b          *budget      // nil: bytes are counted at another level
	compressed func() int64 // nil: no ratio check
	maxRatio   float64
	maxBytes   int64
	// maxScanBytes is only for the message
	maxScanBytes int64
	n            int64
	err          error // the first limit or read error (never io.EOF)
}

func (l *limited) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.b != nil {
		l.b.bytesLeft -= int64(n)
		l.b.scan.bytesLeft -= int64(n)
		if l.b.bytesLeft < 0 {
			l.b.stopped = true
			l.err = &limitError{fmt.Sprintf("archive holds more than %d uncompressed bytes (MaxArchiveBytes); the rest is not read", l.maxBytes)}
			return n, l.err
		}
		if l.b.scan.bytesLeft < 0 {
			l.b.stopped = true
			l.err = &limitError{fmt.Sprintf("the archives of this scan hold more than %d uncompressed bytes together (MaxScanArchiveBytes); the rest is not read", l.maxScanBytes)}
			return n, l.err
		}
	}
	if l.compressed != nil && l.n > minRatioBytes {
		if c := l.compressed(); c > 0 && float64(l.n) > l.maxRatio*float64(c) {
			l.err = &limitError{fmt.Sprintf("expands more than %.0f times its compressed size (MaxRatio; a compression bomb?); not read further", l.maxRatio)}
			return n, l.err
		}
	}
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

const tarBlock = 512

// countingReader counts compressed bytes consumed by a decompressor.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// archiveStream opens a bundle that can only be read front to back. parent
// is the archive it was found in (nil at top level).
func (w *walker) archiveStream(br *bufio.Reader, name string, format Format, parent *archive) {
	a := w.newArchive(name)
	if parent != nil {
		a = parent.child(name)
	}
	switch format {
	case Tar:
		w.tar(br, a)
	case Gzip:
		w.gzip(br, a)
	case Zip:
		w.zipStream(br, a)
	}
}

func (w *walker) gzip(r io.Reader, a *archive) {
	cr := &countingReader{r: r}
	gz, err := gzip.NewReader(cr)
	if err != nil {
		w.unreadable(a.name, 0, "corrupt gzip: "+err.Error())
		return
	}
	gz.Multistream(true)
	l := &limited{r: gz, compressed: func() int64 { return cr.n }, maxRatio: w.opts.MaxRatio}
	br := bufio.NewReaderSize(l, 64<<10)
	head, _ := br.Peek(SniffLen)
	switch format := Detect(head); {
	case format == Tar:
		// A .tar.gz is one bundle: the tar shares the gzip's level.
		w.tar(br, a)
	case format.isArchive():
		w.nested(br, a.name, format, a)
	default:
		// A single compressed log (System.evtx.gz) is read as that log,
		// inside the gzip's budget.
		w.member(br, a.name, a, nil)
	}
	if l.err != nil && !a.failed {
		w.unreadable(a.name, l.n, readReason(l.err))
	}
}

func readReason(err error) string {
	var le *limitError
	if errors.As(err, &le) {
		return le.msg
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated: compressed data ends early"
	}
	return "read error: " + err.Error()
}

// tar reads a tar stream. A member's expansion is judged against the tar
// bytes consumed for it: a regular member cannot expand, but a sparse one
// declares holes that are read as zeros without any bytes behind them (a
// 10 KB tar declaring 10^18 bytes was read for 64 GiB).
func (w *walker) tar(r io.Reader, a *archive) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	for !a.budget.stopped && w.fnErr == nil {
		hdr, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			if !a.failed {
				w.unreadable(a.name, 0, "corrupt or truncated tar: "+err.Error())
			}
			return
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA && hdr.Typeflag != tar.TypeGNUSparse {
			continue
		}
		if !w.count(a) {
			return
		}
		start := cr.n - tarBlock // the header block was read for it too
		w.member(tr, a.name+"!"+path.Clean(hdr.Name), a, func() int64 { return cr.n - start })
	}
}

// count charges one member against the member limits.
func (w *walker) count(a *archive) bool {
	a.budget.members++
	a.budget.scan.members++
	if a.budget.members > w.opts.MaxMembers {
		a.budget.stopped = true
		w.unreadable(a.name, 0, fmt.Sprintf("archive holds more than %d files (MaxMembers); the rest are not read", w.opts.MaxMembers))
		return false
	}
	if a.budget.scan.members > w.opts.MaxScanMembers {
		a.budget.stopped = true
		w.unreadable(a.name, 0, fmt.Sprintf("the archives of this scan hold more than %d files together (MaxScanMembers); the rest are not read", w.opts.MaxScanMembers))
		return false
	}
	return true
}

// zipAt reads a zip on disk (or spilled to one), whose members can be
// reached at random. The central directory is read in batches (see
// dirBatches), and each member's expansion is judged against the compressed
// bytes actually read for it, not the size its header declares.
func (w *walker) zipAt(r io.ReaderAt, size int64, a *archive) {
	d, err := findZipDir(r, size)
	if err != nil {
		w.unreadable(a.name, 0, "corrupt or truncated zip: "+err.Error())
		return
	}
	cr := &countingReaderAt{r: r}
	read, whole := dirBatches(cr, d, func(v io.ReaderAt, vsize int64) bool {
		zr, err := zip.NewReader(v, vsize)
		if err != nil {
			w.unreadable(a.name, 0, "corrupt or truncated zip: "+err.Error())
			return false
		}
		zr.RegisterDecompressor(zip.Deflate, inflater)
		for _, f := range zr.File {
			if a.budget.stopped || w.fnErr != nil {
				return false
			}
			if f.FileInfo().IsDir() {
				continue
			}
			if !w.count(a) {
				return false
			}
			w.zipMember(f, a, cr)
			if a.nesting == 0 {
				w.done += int64(f.CompressedSize64)
				w.progress(false)
			}
		}
		return true
	})
	// archive/zip compares the count modulo 65536 (a zip64 writer may
	// leave the 16-bit field wrapped); so does this.
	if whole && uint16(read) != uint16(d.records) {
		w.unreadable(a.name, 0, fmt.Sprintf("corrupt or truncated zip: the central directory declares %d entries, %d could be read", d.records, read))
	}
}

// countingReaderAt counts the bytes read through it: the compressed bytes
// a zip member really consumed.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func (w *walker) zipMember(f *zip.File, a *archive, cr *countingReaderAt) {
	name := a.name + "!" + path.Clean(f.Name)
	start := cr.n.Load()
	rc, err := f.Open()
	if err != nil {
		w.unreadable(name, 0, "cannot open member: "+err.Error())
		return
	}
	defer rc.Close()
	w.member(rc, name, a, func() int64 { return cr.n.Load() - start })
}

// zipStream reads a zip that cannot be reached at random offsets (inside
// another archive, or on stdin): it is spilled to a temporary file, up to
// MaxSpool bytes, and read from there.
func (w *walker) zipStream(r io.Reader, a *archive) {
	f, err := spool.Copy(r, w.opts.MaxSpool)
	if errors.Is(err, spool.ErrTooLarge) {
		w.unreadable(a.name, 0, fmt.Sprintf("zip read from a stream is %s (MaxSpool); extract it and scan the zip itself", err))
		return
	}
	if f == nil {
		w.unreadable(a.name, 0, readReason(err))
		return
	}
	defer f.Close()
	if err != nil {
		var le *limitError
		if errors.As(err, &le) {
			// The bundle around it stopped; what arrived is not a zip.
			return
		}
		w.unreadable(a.name, f.Size, readReason(err))
		return
	}
	w.zipAt(f, f.Size, a)
}

// member reads one file inside an archive, whatever it is.
func (w *walker) member(r io.Reader, name string, a *archive, compressed func() int64) {
	l := &limited{r: r, b: a.budget, compressed: compressed, maxRatio: w.opts.MaxRatio, maxBytes: w.opts.MaxArchiveBytes, maxScanBytes: w.opts.MaxScanArchiveBytes}
	before, omitted := len(w.st.Unreadable), w.st.UnreadableOmitted
	br := w.reader(l)
	defer w.release(br)
	head, _ := br.Peek(SniffLen)
	if format := Detect(head); format.isArchive() {
		w.nested(br, name, format, a)
	} else if l.err == nil {
		w.stream(br, name, false, a)
	}
	if l.err != nil {
		// The read error is the cause of whatever the decoder saw (a
		// missing end record, XML ending early): report only the cause.
		w.st.Unreadable = dropFile(w.st.Unreadable, before, name)
		w.st.UnreadableOmitted = omitted
		w.unreadable(name, l.n, readReason(l.err))
		// Within a tar the error may be the stream's own (truncated
		// gzip); it is reported here, at the log it cut short.
		a.failed = true
	}
}

// reader returns a 64 KiB buffered reader of r, reusing one released
// before: a zip of 100,000 tiny members allocated 6 GB of buffers.
func (w *walker) reader(r io.Reader) *bufio.Reader {
	if n := len(w.bufs); n > 0 {
		br := w.bufs[n-1]
		w.bufs = w.bufs[:n-1]
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 64<<10)
}

func (w *walker) release(br *bufio.Reader) {
	br.Reset(nil)
	w.bufs = append(w.bufs, br)
}

// nested opens a bundle found inside a, if the nesting limit allows.
func (w *walker) nested(br *bufio.Reader, name string, format Format, a *archive) {
	if a.nesting+1 > w.opts.MaxNesting {
		w.unreadable(name, 0, fmt.Sprintf("%s archive nested more than %d deep (MaxNesting); not opened", format, w.opts.MaxNesting))
		return
	}
	child := a.child(name)
	switch format {
	case Tar:
		w.tar(br, child)
	case Gzip:
		w.gzip(br, child)
	case Zip:
		w.zipStream(br, child)
	}
}

// dropFile removes the entries for name added from index from on.
func dropFile(ds []evtx.Damage, from int, name string) []evtx.Damage {
	out := ds[:from]
	for _, d := range ds[from:] {
		if d.File != name {
			out = append(out, d)
		}
	}
	return out
}
