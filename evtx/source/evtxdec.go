package source

import (
	"io"
	"runtime"

	"github.com/tsdiag/tsdiag/evtx"
)

func (w *walker) evtxOptions() evtx.Options {
	workers := w.opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	return evtx.Options{Filter: w.opts.Filter, KeepTree: w.opts.KeepTree, Workers: workers}
}

// evtxStream decodes an EVTX stream (archive member, stdin): chunk by chunk,
// one at a time.
func (w *walker) evtxStream(r io.Reader, name string) {
	st, err := evtx.Decode(r, name, w.evtxOptions(), w.deliver)
	w.decoded(name, st, err)
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
}
