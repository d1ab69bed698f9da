package source

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/tsdiag/tsdiag/evtx"
)

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

type budget struct {
	bytesLeft int64
	members   int
	stopped   bool // a whole-archive limit was hit; read nothing more
}

func newArchive(name string, nesting int, opts Options) *archive {
	return &archive{name: name, nesting: nesting, budget: &budget{bytesLeft: opts.MaxArchiveBytes}}
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
	n          int64
	err        error // the first limit or read error (never io.EOF)
}

func (l *limited) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.b != nil {
		l.b.bytesLeft -= int64(n)
		if l.b.bytesLeft < 0 {
			l.b.stopped = true
			l.err = &limitError{fmt.Sprintf("archive holds more than %d uncompressed bytes (MaxArchiveBytes); the rest is not read", l.maxBytes)}
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
	a := newArchive(name, 0, w.opts)
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

func (w *walker) tar(r io.Reader, a *archive) {
	tr := tar.NewReader(r)
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
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		if !w.count(a) {
			return
		}
		w.member(tr, a.name+"!"+path.Clean(hdr.Name), a, nil)
	}
}

// count charges one member against the member limit.
func (w *walker) count(a *archive) bool {
	a.budget.members++
	if a.budget.members > w.opts.MaxMembers {
		a.budget.stopped = true
		w.unreadable(a.name, 0, fmt.Sprintf("archive holds more than %d files (MaxMembers); the rest are not read", w.opts.MaxMembers))
		return false
	}
	return true
}

// zipAt reads a zip on disk, whose members can be reached at random.
func (w *walker) zipAt(r io.ReaderAt, size int64, a *archive) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		w.unreadable(a.name, 0, "corrupt or truncated zip: "+err.Error())
		return
	}
	for _, f := range zr.File {
		if a.budget.stopped || w.fnErr != nil {
			return
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if !w.count(a) {
			return
		}
		w.zipMember(f, a)
		if a.nesting == 0 {
			w.done += int64(f.CompressedSize64)
			w.progress(false)
		}
	}
}

func (w *walker) zipMember(f *zip.File, a *archive) {
	name := a.name + "!" + path.Clean(f.Name)
	rc, err := f.Open()
	if err != nil {
		w.unreadable(name, 0, "cannot open member: "+err.Error())
		return
	}
	defer rc.Close()
	compressed := int64(f.CompressedSize64)
	w.member(rc, name, a, func() int64 { return compressed })
}

// zipStream reads a zip that cannot be reached at random offsets (inside
// another archive, or on stdin) by holding it in memory, within the limits.
func (w *walker) zipStream(r io.Reader, a *archive) {
	buf, err := io.ReadAll(io.LimitReader(r, w.opts.MaxBuffered+1))
	if err != nil {
		w.unreadable(a.name, int64(len(buf)), readReason(err))
		return
	}
	if int64(len(buf)) > w.opts.MaxBuffered {
		w.unreadable(a.name, 0, fmt.Sprintf("zip larger than %d bytes (MaxBuffered) inside a stream; extract it and scan the zip itself", w.opts.MaxBuffered))
		return
	}
	w.zipAt(bytes.NewReader(buf), int64(len(buf)), a)
}

// member reads one file inside an archive, whatever it is.
func (w *walker) member(r io.Reader, name string, a *archive, compressed func() int64) {
	l := &limited{r: r, b: a.budget, compressed: compressed, maxRatio: w.opts.MaxRatio, maxBytes: w.opts.MaxArchiveBytes}
	before := len(w.st.Unreadable)
	br := bufio.NewReaderSize(l, 64<<10)
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
		w.unreadable(name, l.n, readReason(l.err))
		// Within a tar the error may be the stream's own (truncated
		// gzip); it is reported here, at the log it cut short.
		a.failed = true
	}
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
