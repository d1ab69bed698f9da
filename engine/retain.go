package engine

import (
	"hash/fnv"
	"strconv"

	"github.com/tsdiag/tsdiag/evtx"
)

// What the engine keeps of events. Rules evaluate every event whole, but
// the events they keep (in the reorder buffer, in groups, as a finding's
// evidence) are held for the rest of the run, so a crafted log of big
// strings (a 30,000-character client name, the most one EVTX substitution
// holds; 15 MiB in an XML export) multiplied by the groups and findings the
// bounds allow would pin gigabytes (issue #19). The buffer is bounded by
// bytes as well as by count, and a kept event whose strings are longer
// than maxValueLen (the length the report shows) is kept as a copy with
// them clipped, at most maxEvidenceParams parameters and data values.
// Facts computed at the end from the kept events see the clipped values,
// as the report does.
const (
	// MaxBufferBytes bounds the reorder buffer by the strings of the events
	// it holds (besides DefaultMaxBuffer events); over it the oldest are
	// evaluated early, out of order at worst (counted as late).
	MaxBufferBytes = 8 << 20
	// eventOverhead is a kept event's fixed cost beyond its strings.
	eventOverhead = 256
	// maxHosts bounds the hosts whose newest event is remembered; a log
	// naming more counts the rest's facts from the newest event of all.
	maxHosts = 4096
)

func (e *Engine) push(q queued) {
	e.bufBytes += q.size
	e.buf.push(q)
}

func (e *Engine) pop() *evtx.Event {
	q := e.buf.pop()
	e.bufBytes -= q.size
	return q.ev
}

// eventBytes estimates what holding ev costs.
func eventBytes(ev *evtx.Event) int {
	n := eventOverhead + len(ev.Provider) + len(ev.ProviderGUID) + len(ev.Channel) + len(ev.Computer) + len(ev.UserSID) + len(ev.File)
	for _, p := range ev.Params {
		n += len(p) + 16
	}
	for k, v := range ev.Data {
		n += len(k) + len(v) + 32
	}
	return n
}

// oversized reports whether ev carries more than the engine keeps.
func oversized(ev *evtx.Event) bool {
	if ev.Tree != nil || len(ev.Params) > maxEvidenceParams || len(ev.Data) > maxEvidenceParams {
		return true
	}
	for _, s := range []string{ev.Provider, ev.ProviderGUID, ev.Channel, ev.Computer, ev.UserSID} {
		if len(s) > maxValueLen {
			return true
		}
	}
	for _, p := range ev.Params {
		if len(p) > maxValueLen {
			return true
		}
	}
	for k, v := range ev.Data {
		if len(k) > maxValueLen || len(v) > maxValueLen {
			return true
		}
	}
	return false
}

// kept is ev as the engine keeps it: ev itself when it is small (no
// copy, the common case), else a copy with its strings clipped. The file
// name is kept whole: the report names the input.
func kept(ev *evtx.Event) *evtx.Event {
	if !oversized(ev) {
		return ev
	}
	c := *ev
	c.Tree = nil
	c.Provider, c.ProviderGUID, c.Channel = clip(ev.Provider), clip(ev.ProviderGUID), clip(ev.Channel)
	c.Computer, c.UserSID = clip(ev.Computer), clip(ev.UserSID)
	c.Params = make([]string, min(len(ev.Params), maxEvidenceParams))
	for i := range c.Params {
		c.Params[i] = clip(ev.Params[i])
	}
	if ev.Data != nil {
		c.Data = make(map[string]string, min(len(ev.Data), maxEvidenceParams))
		for _, k := range sortedKeys(ev.Data) {
			if len(c.Data) == maxEvidenceParams {
				break
			}
			c.Data[clip(k)] = clip(ev.Data[k])
		}
	}
	return &c
}

// distinctKey is the value a distinct rule remembers: the value itself, or
// for one longer than maxValueLen its clipped form plus a hash of the
// whole, so that memory per value stays bounded while values that share
// their first bytes still count apart.
func distinctKey(v string) string {
	if len(v) <= maxValueLen {
		return v
	}
	h := fnv.New64a()
	h.Write([]byte(v))
	return clip(v) + " #" + strconv.FormatUint(h.Sum64(), 16)
}
