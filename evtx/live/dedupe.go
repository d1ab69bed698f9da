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
// later than asOf. Keyed by computer, a bookmark's channel position seeds
// whichever computer's stream of that channel comes first (the bookmark
// does not name the computer; a local channel has one).
func NewDedupe(byComputer bool, positions map[string]uint64, asOf time.Time) *Dedupe {
	d := &Dedupe{ByComputer: byComputer, last: map[string]mark{}}
	for k, v := range positions {
		d.last[d.channelKey(k)] = mark{v, asOf}
	}
	return d
}

// channelKey is the key of a bookmark position: the channel alone, or, by
// computer, the wildcard "any computer" key of that channel.
func (d *Dedupe) channelKey(channel string) string {
	if d.ByComputer {
		return "\x00" + strings.ToLower(channel)
	}
	return strings.ToLower(channel)
}

// Seed sets marks saved by Marks (the state file's Streams); they replace
// bookmark positions of the same streams.
func (d *Dedupe) Seed(marks map[string]Mark) {
	for k, m := range marks {
		d.last[k] = mark{m.Record, m.Time}
		if d.ByComputer && !strings.HasPrefix(k, "\x00") {
			if _, ch, ok := strings.Cut(k, "\x00"); ok {
				delete(d.last, "\x00"+ch)
			}
		}
	}
}

// Marks returns the marks of every stream, for the state file; at most max
// (the streams delivered most recently), so a collector of many hosts
// keeps a bounded state.
func (d *Dedupe) Marks(max int) map[string]Mark {
	keys := d.Keys()
	if max > 0 && len(keys) > max {
		sort.Slice(keys, func(i, j int) bool { return d.last[keys[i]].t.After(d.last[keys[j]].t) })
		keys = keys[:max]
	}
	out := make(map[string]Mark, len(keys))
	for _, k := range keys {
		out[k] = Mark{d.last[k].id, d.last[k].t}
	}
	return out
}

// Key is the stream ev belongs to.
func (d *Dedupe) Key(ev *evtx.Event) string {
	if d.ByComputer {
		return strings.ToLower(ev.Computer) + "\x00" + strings.ToLower(ev.Channel)
	}
	return strings.ToLower(ev.Channel)
}

// Delivered tells whether ev was delivered before (at or below its
// stream's mark), without remembering anything.
func (d *Dedupe) Delivered(ev *evtx.Event) bool {
	m, ok := d.mark(d.Key(ev), ev)
	return ok && ev.RecordID <= m.id && !ev.TimeCreated.After(m.t)
}

// mark is the stream's mark, falling back to its channel's bookmark
// position when the stream has none yet.
func (d *Dedupe) mark(k string, ev *evtx.Event) (mark, bool) {
	m, ok := d.last[k]
	if !ok && d.ByComputer {
		m, ok = d.last["\x00"+strings.ToLower(ev.Channel)]
	}
	return m, ok
}

// New reports whether ev has not been delivered before, and remembers it.
func (d *Dedupe) New(ev *evtx.Event) bool {
	k := d.Key(ev)
	m, ok := d.mark(k, ev)
	if ok && d.ByComputer {
		delete(d.last, "\x00"+strings.ToLower(ev.Channel)) // adopted by this stream
	}
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
