package engine

import (
	"container/heap"
	"time"
)

// Snapshot returns the ranked findings reached so far without ending the
// stream, so a live source can print findings as they change and keep
// feeding. Buffered events are evaluated now (a live stream arrives nearly
// in order; anything older that still arrives is evaluated as late). When
// at is not zero the stream clock moves to it — wall-clock time for a live
// source with no new events — so absence deadlines that passed fire, and
// facts such as days left are computed against it (unless Options.Now is
// set). Absences still waiting stay open; Finish closes them.
func (e *Engine) Snapshot(at time.Time) []Finding {
	for len(e.buf) > 0 {
		e.process(heap.Pop(&e.buf).(queued).ev)
	}
	now := e.newest
	if !at.IsZero() {
		e.advance(at)
		if at.After(now) {
			now = at
		}
	}
	if !e.opts.Now.IsZero() {
		now = e.opts.Now
	}
	var out []Finding
	for _, rs := range e.rules {
		for _, a := range rs.findingsInOrder() {
			out = append(out, a.finding(e, now))
		}
	}
	rank(out, now)
	return out
}
