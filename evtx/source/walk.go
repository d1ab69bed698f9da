// Package source turns every input a support engineer has into one stream
// of events: EVTX files, legacy .evt files, XML exports, directories of them,
// zip/tar/tar.gz support bundles (read as streams, never extracted to disk,
// one nested bundle deep) and stdin. Formats are recognised from their bytes,
// never from their names.
//
// Faults (an unreadable file, a truncated or corrupt member, a file changing
// while read, an archive over a limit) never stop the walk: each is recorded
// in Stats.Unreadable with the file, offset and reason, and the rest is read.
//
// To diagnose these inputs as `tsdiag scan` does (registry exports read
// first and tied to their host), start at the root package,
// github.com/tsdiag/tsdiag: New, then Diagnoser.Scan.
package source

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt"
	"github.com/tsdiag/tsdiag/evtx/xmlevents"
)

// StdinName is the name events read from "-" carry in Event.File.
const StdinName = "<stdin>"

// Walk reads every input in order (directories recursively, in lexical
// order; archive members in archive order) and calls fn for each event that
// passes opts.Filter.
//
// The returned error is set only when fn fails (the walk stops and returns
// that error) or when nothing at all could be read; every other problem is
// in the returned Stats (Unreadable, Damages, Skipped).
func Walk(inputs []string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	if len(inputs) == 0 {
		return evtx.Stats{}, errors.New("no inputs given")
	}
	w := &walker{opts: opts.withDefaults(), fn: fn}
	w.scan = scanBudget{bytesLeft: w.opts.MaxScanArchiveBytes}
	w.total = totalSize(inputs)
	for _, in := range inputs {
		w.input(in)
		if w.fnErr != nil {
			return w.st, w.fnErr
		}
	}
	w.progress(true)
	if w.st.Files == 0 {
		return w.st, w.nothingRead(inputs)
	}
	return w.st, nil
}

func (w *walker) nothingRead(inputs []string) error {
	if len(w.st.Unreadable) > 0 {
		var msgs []string
		for _, u := range w.st.Unreadable[:min(len(w.st.Unreadable), 10)] {
			msgs = append(msgs, u.File+": "+u.Reason)
		}
		if more := w.st.UnreadableCount() - len(msgs); more > 0 {
			msgs = append(msgs, fmt.Sprintf("and %d more", more))
		}
		return fmt.Errorf("no input could be read: %s", strings.Join(msgs, "; "))
	}
	if w.others > 0 {
		return fmt.Errorf("no event logs found in %s (%d files skipped as not event logs, %d read as other input)",
			strings.Join(inputs, ", "), len(w.st.Skipped)+w.st.SkippedOmitted, w.others)
	}
	return fmt.Errorf("no event logs found in %s (%d files skipped as not event logs)",
		strings.Join(inputs, ", "), len(w.st.Skipped)+w.st.SkippedOmitted)
}

type walker struct {
	opts  Options
	fn    func(*evtx.Event) error
	fnErr error
	st    evtx.Stats

	done, total int64
	reported    int64
	others      int             // files OnOther took
	scan        scanBudget      // limits for all archives of the walk
	bufs        []*bufio.Reader // released by reader's callers, for reuse
}

// deliver passes an event on, remembering fn's error so the walk can tell it
// from a decoder's.
func (w *walker) deliver(ev *evtx.Event) error {
	if err := w.fn(ev); err != nil {
		w.fnErr = err
		return err
	}
	return nil
}

func (w *walker) unreadable(name string, off int64, reason string) {
	w.st.AddUnreadable(evtx.Damage{File: name, Offset: off, Kind: "file", Reason: reason})
}

func (w *walker) skipped(name, reason string) {
	w.st.AddSkipped(evtx.Damage{File: name, Kind: "skipped", Reason: reason})
}

func (w *walker) input(in string) {
	if in == "-" {
		stdin := w.opts.Stdin
		if stdin == nil {
			stdin = os.Stdin
		}
		w.stream(bufio.NewReaderSize(&progressReader{r: stdin, w: w}, 64<<10), StdinName, true, nil)
		return
	}
	fi, err := os.Stat(in)
	if err != nil {
		w.unreadable(in, 0, openReason(err))
		return
	}
	if fi.IsDir() {
		w.dir(in)
		return
	}
	if fi.Mode()&(fs.ModeNamedPipe|fs.ModeSocket|fs.ModeCharDevice) != 0 {
		w.pipe(in)
		return
	}
	w.file(in, true)
}

// pipe reads a FIFO, a process substitution (/dev/fd/63) or a device named
// as an input the way it reads stdin: front to back, once. A pass that only
// looks for registry exports (SkipLogs) leaves it alone: opening and
// closing a pipe would lose what its writer sent.
func (w *walker) pipe(path string) {
	if w.opts.SkipLogs {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		w.unreadable(path, 0, openReason(err))
		return
	}
	defer f.Close()
	br := w.reader(&progressReader{r: f, w: w})
	defer w.release(br)
	w.stream(br, path, true, nil)
}

func openReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	}
	return err.Error()
}

func (w *walker) dir(root string) {
	// WalkDir does not follow a root that is a symbolic link to a folder
	// (a bundle linked into a CI workspace): walk its target, naming files
	// under the path the user gave.
	real := root
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if r, err := filepath.EvalSymlinks(root); err == nil {
			real = r
		}
	}
	filepath.WalkDir(real, func(path string, d fs.DirEntry, err error) error {
		if real != root {
			path = filepath.Join(root, strings.TrimPrefix(path, real))
		}
		if err != nil {
			w.unreadable(path, 0, openReason(err))
			return nil
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 && !d.IsDir() {
			w.file(path, false)
		}
		if w.fnErr != nil {
			return fs.SkipAll
		}
		return nil
	})
}

// file reads one file on disk. explicit is true for files named as inputs:
// those must be logs or bundles, while anything else met in a directory is
// skipped.
func (w *walker) file(path string, explicit bool) {
	f, err := os.Open(path)
	if err != nil {
		w.unreadable(path, 0, openReason(err))
		return
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		w.unreadable(path, 0, err.Error())
		return
	}
	if !before.Mode().IsRegular() {
		if explicit {
			w.unreadable(path, 0, "not a regular file")
		} else {
			// Symbolic links to directories are not followed (no loops).
			w.skipped(path, "not a regular file")
		}
		return
	}
	start := w.done
	w.fileContent(f, before.Size(), path, explicit)
	w.done = start + before.Size()
	w.progress(false)
	if after, err := os.Stat(path); err == nil && (after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime())) {
		w.unreadable(path, 0, fmt.Sprintf("file changed while it was read (size %d → %d bytes); events from it may be incomplete",
			before.Size(), after.Size()))
	}
}

func (w *walker) fileContent(f *os.File, size int64, path string, explicit bool) {
	head := make([]byte, SniffLen)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		w.unreadable(path, 0, "read error: "+err.Error())
		return
	}
	format := Detect(head[:n])
	if w.opts.SkipLogs && (format == EVTX || format == EVT) {
		return
	}
	switch format {
	case EVTX:
		w.evtxFile(path)
	case EVT:
		st, err := evt.DecodeReaderAt(f, size, path, evt.Options{Filter: w.opts.Filter}, w.deliver)
		w.decoded(path, st, err)
	case Zip:
		w.zipAt(f, size, w.newArchive(path))
	default:
		br := w.reader(&progressReader{r: f, w: w})
		defer w.release(br)
		w.stream(br, path, explicit, nil)
	}
}

// decoded folds a decoder's result into the walk's. File-level damage (a
// truncated file, XML that stops mid-document) also lists the file as not
// completely read.
func (w *walker) decoded(name string, st evtx.Stats, err error) {
	w.st.Add(st)
	if err != nil && w.fnErr == nil {
		w.unreadable(name, 0, strings.TrimPrefix(err.Error(), name+": "))
	}
	for _, d := range st.Damages {
		if d.Kind == "file" {
			w.st.AddUnreadable(d)
		}
	}
}

// stream reads one input that can only be read front to back: a file's
// bytes, stdin, an archive member. a is the archive it sits in (nil for
// none).
func (w *walker) stream(br *bufio.Reader, name string, explicit bool, a *archive) {
	head, err := br.Peek(SniffLen)
	if err != nil && err != io.EOF && len(head) == 0 {
		w.unreadable(name, 0, "read error: "+err.Error())
		return
	}
	format := Detect(head)
	if w.opts.SkipLogs && (format == EVTX || format == EVT || format == XML) {
		return
	}
	switch format {
	case Unknown:
		if w.other(name, head, br) {
			return
		}
		if explicit {
			w.unreadable(name, 0, "not an event log or bundle (no EVTX, EVT, XML, zip, tar or gzip signature)")
		} else {
			w.skipped(name, "not an event log or bundle")
		}
	case EVTX:
		w.evtxStream(br, name)
	case EVT:
		st, err := evt.Decode(br, name, evt.Options{Filter: w.opts.Filter, MaxBytes: w.opts.MaxSpool}, w.deliver)
		w.decoded(name, st, err)
	case XML:
		w.xml(br, name, explicit)
	default:
		w.archiveStream(br, name, format, a)
	}
}

// other offers a file that is not a log or bundle to Options.OnOther and
// reports whether it was taken.
func (w *walker) other(name string, head []byte, r io.Reader) bool {
	if w.opts.OnOther == nil {
		return false
	}
	took, err := w.opts.OnOther(name, head, r)
	if err != nil {
		w.unreadable(name, 0, strings.TrimPrefix(err.Error(), name+": "))
		return true
	}
	if took {
		w.others++
	}
	return took
}

func (w *walker) xml(r io.Reader, name string, explicit bool) {
	opts := xmlevents.Options{Filter: w.opts.Filter, MaxDepth: w.opts.XMLMaxDepth, MaxBytes: w.opts.XMLMaxBytes}
	st, err := xmlevents.Decode(r, name, opts, w.deliver)
	if errors.Is(err, xmlevents.ErrNotEventXML) && !explicit {
		w.skipped(name, "XML, but not Windows event XML")
		return
	}
	w.decoded(name, st, err)
}

// progressReader counts the bytes of named inputs as they are read.
type progressReader struct {
	r io.Reader
	w *walker
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.w.done += int64(n)
	p.w.progress(false)
	return n, err
}

// progress calls the callback at most once per MiB read, and always at the
// end.
func (w *walker) progress(final bool) {
	if w.opts.Progress == nil || !final && w.done-w.reported < 1<<20 {
		return
	}
	w.reported = w.done
	w.opts.Progress(w.done, w.total, w.st.Files)
}

// totalSize adds up the sizes of the inputs for the progress bar.
func totalSize(inputs []string) int64 {
	var total int64
	for _, in := range inputs {
		if in == "-" {
			continue
		}
		filepath.WalkDir(in, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
					total += fi.Size()
				}
			}
			return nil
		})
	}
	return total
}
