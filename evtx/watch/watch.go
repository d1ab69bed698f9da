// Package watch follows a growing .evtx file, or a folder of them, on any
// platform: a support engineer's copy being refreshed, a share that a
// collector appends to, a log written by a test. Each poll decodes the files
// that changed and delivers only records not delivered before, by record id
// per computer and channel; a file replaced, cleared or rotated is noticed
// (identity change, shrink, record ids restarting) and handled without
// losing or repeating events.
package watch

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/format"
	"github.com/tsdiag/tsdiag/evtx/live"
)

// DecodeFunc decodes one EVTX file, calling fn for every record filter
// accepts; damage is reported in the stats, not as an error. A custom
// DecodeFunc always reads whole files.
type DecodeFunc func(path string, filter evtx.Filter, fn func(*evtx.Event) error) (evtx.Stats, error)

// DecodeEVTX is the project's streaming EVTX decoder, sequential: on a 20 MB
// log it measured faster than the parallel mode (BenchmarkPollChanged).
func DecodeEVTX(path string, filter evtx.Filter, fn func(*evtx.Event) error) (evtx.Stats, error) {
	return evtx.DecodeFile(path, evtx.Options{Filter: filter}, fn)
}

// Handler receives each poll's new events, in time order (record id within
// equal times). An empty batch is never delivered.
type Handler func(events []*evtx.Event) error

// Note is something a follower should tell its user: a file appeared,
// was replaced, shrank, was cleared, could not be read, or holds damage.
type Note struct {
	File string
	Kind string // "new", "replaced", "rotated", "shrunk", "cleared", "removed", "unreadable", "damaged"
	Text string
}

func (n Note) String() string { return n.File + ": " + n.Text }

// Options configure Follow.
type Options struct {
	Interval time.Duration // poll interval (default 2s)
	Filter   evtx.Filter
	Decode   DecodeFunc // nil: the project's decoder, reading only changed chunks
	// SkipExisting starts at the end: records already in the files when
	// Follow starts are not delivered.
	SkipExisting bool
	OnNote       func(Note)
	// OnPoll is called after every poll (tests use it to step in lock-step
	// with a writer); polls is the number done so far.
	OnPoll func(polls int)
}

// DefaultInterval is the poll interval when Options.Interval is zero.
const DefaultInterval = 2 * time.Second

// Follow watches path until ctx ends (returning nil) or h fails.
func Follow(ctx context.Context, path string, opts Options, h Handler) error {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.OnNote == nil {
		opts.OnNote = func(Note) {}
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("watch %s: %w", path, err)
	}
	w := NewWatcher(path, opts)
	defer w.Close()
	first := true
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for polls := 1; ; polls++ {
		events, err := w.Poll()
		if err != nil {
			return err
		}
		if len(events) > 0 && !(first && opts.SkipExisting) {
			if err := h(events); err != nil {
				return err
			}
		}
		first = false
		if opts.OnPoll != nil {
			opts.OnPoll(polls)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Watcher is the state of one followed path; Poll advances it.
type Watcher struct {
	root   string
	opts   Options
	files  map[string]*fileState
	dedupe *live.Dedupe
	single bool // the path is one file, not a folder (as last listed)
	listed bool // the path existed at a poll
}

// NewWatcher returns a Watcher for driving polls by hand.
func NewWatcher(path string, opts Options) *Watcher {
	if opts.OnNote == nil {
		opts.OnNote = func(Note) {}
	}
	return &Watcher{root: path, opts: opts, files: map[string]*fileState{}, dedupe: live.NewDedupe(true, nil, time.Time{})}
}

type fileState struct {
	info os.FileInfo
	// f is the handle the file was last read through, kept open when a
	// single file is followed: when the path is renamed away and replaced
	// (rotation), the records written to the old file after the last poll
	// are read through it before the new file is followed. Watching a
	// folder needs none: the rotated file is still listed, under its new
	// name.
	f       *os.File
	fInfo   os.FileInfo // what f is (the path may already be another file)
	print   uint32      // checksum of the file header and last chunk
	damaged int
	failed  string            // the decode error, when the file could not be read
	layout  layout            // chunk checksums, to decode only what changed
	maxID   map[string]uint64 // per stream, in this file
}

// Poll decodes what changed since the last poll and returns the new events.
func (w *Watcher) Poll() ([]*evtx.Event, error) {
	paths, err := w.list()
	if err != nil {
		return nil, err
	}
	out := w.forgetRemoved(paths)
	for _, p := range paths {
		out = append(out, w.file(p.path, p.info)...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].TimeCreated.Equal(out[j].TimeCreated) {
			return out[i].TimeCreated.Before(out[j].TimeCreated)
		}
		return out[i].RecordID < out[j].RecordID
	})
	return out, nil
}

type listed struct {
	path string
	info os.FileInfo
}

// list returns the files to look at, oldest first, so that an archive
// rotated out of a live log is read before the log that replaced it.
func (w *Watcher) list() ([]listed, error) {
	st, err := os.Stat(w.root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && w.listed {
			// A file being replaced (rotated away, the new one not yet
			// created): try again next poll, however many polls it takes.
			return nil, nil
		}
		return nil, fmt.Errorf("watch %s: %w", w.root, err)
	}
	w.listed = true
	w.single = !st.IsDir()
	if w.single {
		return []listed{{w.root, st}}, nil
	}
	var out []listed
	err = filepath.WalkDir(w.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			w.note(p, "unreadable", err.Error())
			return nil
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".evtx") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while listing
		}
		out = append(out, listed{p, info})
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if mi, mj := out[i].info.ModTime(), out[j].info.ModTime(); !mi.Equal(mj) {
			return mi.Before(mj)
		}
		return out[i].path < out[j].path
	})
	return out, err
}

// forgetRemoved drops the state of files no longer present, returning the
// last records of a followed file whose handle was kept (renamed away).
func (w *Watcher) forgetRemoved(paths []listed) []*evtx.Event {
	present := map[string]bool{}
	for _, p := range paths {
		present[p.path] = true
	}
	var out []*evtx.Event
	for p, st := range w.files {
		if !present[p] {
			out = append(out, w.drain(p, st)...)
			w.note(p, "removed", "no longer present")
			delete(w.files, p)
		}
	}
	return out
}

// Close releases the handle kept on a followed file.
func (w *Watcher) Close() {
	for _, st := range w.files {
		st.close()
	}
}

func (st *fileState) close() {
	if st.f != nil {
		st.f.Close()
		st.f = nil
	}
}

// drain reads, through the handle kept from the last poll, what was
// written to a followed file after that poll and before it was renamed
// away or removed, and closes the handle. The file is complete by then
// (nothing writes to a rotated log), so its chunks that changed are read
// once more.
func (w *Watcher) drain(path string, st *fileState) []*evtx.Event {
	if st.f == nil {
		return nil
	}
	defer st.close()
	l, err := readLayout(st.f)
	if err != nil {
		w.note(path, "unreadable", fmt.Sprintf("rotated file: %v", err))
		return nil
	}
	var events []*evtx.Event
	_, err = decodeChunks(st.f, path, changed(st.layout, l), w.opts.Filter, func(ev *evtx.Event) error {
		events = append(events, ev)
		return nil
	})
	if err != nil {
		w.note(path, "unreadable", fmt.Sprintf("rotated file: %v", err))
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].RecordID < events[j].RecordID })
	var fresh []*evtx.Event
	for _, ev := range events {
		if w.dedupe.New(ev) {
			fresh = append(fresh, ev)
		}
	}
	if len(fresh) > 0 {
		w.note(path, "rotated", fmt.Sprintf("%d records written before the file was renamed away read from the old file", len(fresh)))
	}
	return fresh
}

func (w *Watcher) note(file, kind, text string) {
	w.opts.OnNote(Note{File: file, Kind: kind, Text: text})
}

// file decodes one file when it changed and returns its new events.
func (w *Watcher) file(path string, info os.FileInfo) []*evtx.Event {
	prev := w.files[path]
	fp := fingerprint(path, info.Size())
	if prev != nil && unchanged(prev.info, info) && prev.print == fp {
		return nil
	}
	var rotated []*evtx.Event
	if prev != nil && prev.f != nil && !os.SameFile(prev.fInfo, info) {
		rotated = w.drain(path, prev)
	}
	cur := &fileState{info: info, print: fp, maxID: map[string]uint64{}}
	// Only a file that grew or filled in place is read chunk by chunk; a new,
	// replaced or shrunk one is read whole.
	whole := prev == nil || prev.failed != "" || !os.SameFile(prev.info, info) || info.Size() < prev.info.Size()
	var events []*evtx.Event
	stats, err := w.decode(path, prev, cur, whole, func(ev *evtx.Event) error {
		events = append(events, ev)
		return nil
	})
	if prev != nil && prev.f != cur.f {
		prev.close()
	}
	if err != nil {
		// Remembered, so an empty or foreign file is reported once, not on
		// every poll; it is read again when it changes.
		if prev == nil || prev.failed != err.Error() {
			// The note names the file; the error need not again.
			w.note(path, "unreadable", strings.TrimPrefix(err.Error(), path+": "))
		}
		cur.failed = err.Error()
		w.files[path] = cur
		return rotated
	}
	cur.damaged = stats.DamagedRecords + stats.DamagedChunks
	if !whole {
		for k, v := range prev.maxID {
			cur.maxID[k] = v
		}
	}
	for k, v := range maxIDs(w.dedupe, events) {
		if whole || v > cur.maxID[k] {
			cur.maxID[k] = v
		}
	}
	restarted := restarts(prev, cur)
	if prev != nil && !os.SameFile(prev.info, info) {
		// Another log now stands at the path and numbers its records
		// from the start again: what was delivered before says nothing
		// of it, so its records are read as new (the engine still
		// recognises a record it has already seen by its content).
		for k := range restarted {
			w.dedupe.Reset(k)
		}
	}
	w.describe(path, prev, cur, stats, whole, restarted)
	w.files[path] = cur
	sort.SliceStable(events, func(i, j int) bool { return events[i].RecordID < events[j].RecordID })
	fresh := rotated
	for _, ev := range events {
		if w.dedupe.New(ev) {
			fresh = append(fresh, ev)
		}
	}
	return fresh
}

// decode reads the whole file or, when it only grew, the chunks that
// changed since prev; cur records the chunk layout for the next poll.
func (w *Watcher) decode(path string, prev, cur *fileState, whole bool, fn func(*evtx.Event) error) (evtx.Stats, error) {
	if w.opts.Decode != nil {
		return w.opts.Decode(path, w.opts.Filter, fn)
	}
	f, err := openShared(path)
	if err != nil {
		return evtx.Stats{}, err
	}
	if w.single {
		if prev != nil && prev.f != nil && os.SameFile(prev.fInfo, cur.info) {
			// Still the same file: keep the handle already open.
			f.Close()
			f = prev.f
		}
		cur.f = f
		cur.fInfo, _ = f.Stat()
		if cur.fInfo == nil {
			cur.fInfo = cur.info
		}
	} else {
		defer f.Close()
	}
	if cur.layout, err = readLayout(f); err != nil {
		return evtx.Stats{}, fmt.Errorf("%s: %w", path, err)
	}
	if whole {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return evtx.Stats{}, err
		}
		return evtx.Decode(f, path, evtx.Options{Filter: w.opts.Filter}, fn)
	}
	return decodeChunks(f, path, changed(prev.layout, cur.layout), w.opts.Filter, fn)
}

// unchanged compares what a stat shows. The last chunk of an EVTX file
// fills in place (the size stays the same), so a coarse timestamp could
// hide a change: fingerprint covers that.
func unchanged(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

func maxIDs(d *live.Dedupe, events []*evtx.Event) map[string]uint64 {
	m := map[string]uint64{}
	for _, ev := range events {
		if k := d.Key(ev); ev.RecordID > m[k] {
			m[k] = ev.RecordID
		}
	}
	return m
}

// describe tells the user what happened to a file that changed.
// restarted holds the streams whose record ids started again, with the
// highest id before.
func (w *Watcher) describe(path string, prev, cur *fileState, stats evtx.Stats, whole bool, restarted map[string]uint64) {
	restart := ""
	for _, k := range sortedKeys(restarted) {
		restart = fmt.Sprintf("record ids start again (%d after %d)", cur.maxID[k], restarted[k])
		break
	}
	switch {
	case prev == nil || prev.failed != "":
		w.note(path, "new", fmt.Sprintf("following (%d records, %d matched)", stats.Records, stats.Matched))
	case !os.SameFile(prev.info, cur.info) && restart != "":
		w.note(path, "replaced", fmt.Sprintf("replaced by another log: %s; its %d records are read from the start", restart, stats.Records))
	case !os.SameFile(prev.info, cur.info):
		w.note(path, "replaced", "file replaced (new identity); records not seen before are read")
	case restart != "":
		w.note(path, "cleared", restart+": log cleared")
	case cur.info.Size() < prev.info.Size():
		w.note(path, "shrunk", fmt.Sprintf("file shrank from %d to %d bytes (cleared or rotated)", prev.info.Size(), cur.info.Size()))
	}
	if prev == nil || !whole || cur.damaged != prev.damaged {
		if cur.damaged > 0 {
			w.note(path, "damaged", fmt.Sprintf("%d damaged records, %d damaged chunks (a chunk being written shows as damaged until complete)",
				stats.DamagedRecords, stats.DamagedChunks))
		}
	}
}

// restarts lists the streams (computer and channel) whose highest record
// id went down from prev to cur, with the highest id before: the log was
// cleared, or another one replaced it.
func restarts(prev, cur *fileState) map[string]uint64 {
	if prev == nil {
		return nil
	}
	out := map[string]uint64{}
	for k, old := range prev.maxID {
		if n, ok := cur.maxID[k]; ok && n < old {
			out[k] = old
		}
	}
	return out
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fingerprint checksums the file header and the last chunk, where every
// new record leaves a trace (record count, checksums, the record itself).
func fingerprint(path string, size int64) uint32 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	h := crc32.NewIEEE()
	io.Copy(h, io.LimitReader(f, format.FileHeaderSize))
	if last := size - format.ChunkSize; last > format.FileHeaderSize {
		f.Seek(last, io.SeekStart)
		io.Copy(h, f)
	}
	return h.Sum32()
}
