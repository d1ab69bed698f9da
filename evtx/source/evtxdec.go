package source

import (
	"fmt"
	"io"
	"runtime"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

func (w *walker) evtxOptions() evtx.Options {
	workers := w.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	o := evtx.Options{Filter: w.opts.Filter, KeepTree: w.opts.KeepTree, Workers: workers}
	if w.opts.Render != evtx.RenderNone && w.opts.Output != nil {
		o.Render = w.opts.Render
		o.Output = func(b []byte) error {
			if err := w.opts.Output(b); err != nil {
				w.fnErr = err // an output failure stops the walk, as fn's does
				return err
			}
			return nil
		}
	}
	return o
}

// evtxStream decodes an EVTX stream (archive member, stdin): read in order,
// its chunks decoded by the workers while the next ones are read.
func (w *walker) evtxStream(r io.Reader, name string) {
	st, err := evtx.Decode(r, name, w.evtxOptions(), w.deliver)
	w.decoded(name, st, err)
	w.checkEVTXSize(name, st, err)
}

// checkEVTXSize reports a truncated EVTX: Windows always writes a 4 KiB
// header and whole 64 KiB chunks, so any other size lost its tail.
func (w *walker) checkEVTXSize(name string, st evtx.Stats, err error) {
	if err != nil || st.Bytes == 0 || st.Bytes >= format.FileHeaderSize && (st.Bytes-format.FileHeaderSize)%format.ChunkSize == 0 {
		return
	}
	if st.Bytes < format.FileHeaderSize {
		return // the decoder reported it as file damage
	}
	w.unreadable(name, st.Bytes, fmt.Sprintf("truncated: %d bytes is not a 4 KiB header plus whole 64 KiB chunks; the last chunk is cut short", st.Bytes))
}

// evtxFile decodes an EVTX file on disk, chunks in parallel. Progress follows
// the offsets of the events as they arrive in file order.
func (w *walker) evtxFile(path string) {
	start := w.done
	st, err := evtx.DecodeFile(path, w.evtxOptions(), func(ev *evtx.Event) error {
		if d := start + ev.Offset; d > w.done {
			w.done = d
			w.progress(false)
		}
		return w.deliver(ev)
	})
	w.decoded(path, st, err)
	w.checkEVTXSize(path, st, err)
}
