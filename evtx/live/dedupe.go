package live

import (
	"bytes"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/xmlevents"
)

// Dedupe drops events already delivered, by record id per stream. Record
// ids grow by one per event within a channel of one computer, so the
// highest id seen (and its time) is all that must be remembered: memory
// stays bounded by the number of streams, not events. A lower id with a
// later time than the last one delivered means the log was cleared and
// numbering started again: that event is new, and the stream restarts.
type Dedupe struct {
	// ByComputer keys streams by computer and channel (copied logs, forwarded
	// events); otherwise by channel only, as a bookmark does.
	ByComputer bool
	last       map[string]mark
}

type mark struct {
	id uint64
	t  time.Time
}

// NewDedupe starts from positions (a bookmark's, by channel) delivered no
// later than asOf.
func NewDedupe(byComputer bool, positions map[string]uint64, asOf time.Time) *Dedupe {
	d := &Dedupe{ByComputer: byComputer, last: map[string]mark{}}
	for k, v := range positions {
		d.last[strings.ToLower(k)] = mark{v, asOf}
	}
	return d
}

// Key is the stream ev belongs to.
func (d *Dedupe) Key(ev *evtx.Event) string {
	if d.ByComputer {
		return strings.ToLower(ev.Computer) + "\x00" + strings.ToLower(ev.Channel)
	}
	return strings.ToLower(ev.Channel)
}

// New reports whether ev has not been delivered before, and remembers it.
func (d *Dedupe) New(ev *evtx.Event) bool {
	k := d.Key(ev)
	m, ok := d.last[k]
	if ok && ev.RecordID <= m.id && !ev.TimeCreated.After(m.t) {
		return false
	}
	if ok && ev.RecordID <= m.id {
		m = mark{} // cleared log: numbering restarted
	}
	if ev.RecordID > m.id {
		m.id = ev.RecordID
	}
	if ev.TimeCreated.After(m.t) {
		m.t = ev.TimeCreated
	}
	d.last[k] = m
	return true
}

// Last is the highest record id delivered for a stream key.
func (d *Dedupe) Last(key string) uint64 { return d.last[key].id }

// Reset forgets a stream.
func (d *Dedupe) Reset(key string) { delete(d.last, key) }

// Keys lists the streams seen.
func (d *Dedupe) Keys() []string {
	out := make([]string, 0, len(d.last))
	for k := range d.last {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Decode turns one rendered event (EvtRender's XML) into an Event with the
// same reader that reads XML exports; File names where it came from.
func Decode(renderedXML, file string) (*evtx.Event, error) {
	ev, err := xmlevents.DecodeOne(renderedXML)
	if err != nil {
		return nil, err
	}
	ev.File = file
	ev.Offset = 0 // an offset into the rendered string means nothing to a reader
	return ev, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
