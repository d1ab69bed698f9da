// Package livetest is a recorded event log for tests of live mode on any
// platform: it implements live.Log over events written with the project's
// own EVTX encoder and decoded back (their XML as EvtRender would give
// it), with the Windows behaviours the subscription loop must survive —
// missing channels, idle polls failing with ERROR_INVALID_OPERATION, stale
// results after a clear, a bookmark whose record is gone (EvtSubscribeStrict),
// the service going away — injected as the same error codes.
package livetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/live"
)

// Windows error codes the fake returns (classify.go cites their pages).
const (
	ErrAccessDenied     = syscall.Errno(5)
	ErrNoMoreItems      = syscall.Errno(259)
	ErrNotFound         = syscall.Errno(1168)
	ErrServerUnavail    = syscall.Errno(1722)
	ErrInvalidOperation = syscall.Errno(4317)
	ErrChannelNotFound  = syscall.Errno(15007)
	ErrQueryStale       = syscall.Errno(15011)
)

type record struct {
	pos uint64 // the record's number in this log (the bookmark's RecordId)
	xml string
	ev  *evtx.Event
}

type channel struct {
	path string
	recs []record
	next uint64
	gen  int // bumped by Clear
}

// Log is a recorded event log. Its zero value is not usable: use New.
type Log struct {
	mu       sync.Mutex
	channels map[string]*channel
	denied   map[string]bool
	// IdleError is what Next returns when nothing is waiting
	// (ERROR_INVALID_OPERATION by default, as an idle pull subscription can).
	IdleError error
	faults    []error // returned by Next, one per call, before anything else
	subFaults []error // returned by Subscribe, one per call
	// Starts records every Subscribe call's start, in order.
	Starts []live.Start
	// Queries records every subscription's query.
	Queries []live.Query
	idle    func()
}

// New returns an empty log.
func New() *Log {
	return &Log{channels: map[string]*channel{}, denied: map[string]bool{}, IdleError: ErrInvalidOperation}
}

// OnIdle sets f to be called (without the log's lock) each time a
// subscription finds nothing waiting: a test's way to act once the loop
// has caught up.
func (l *Log) OnIdle(f func()) { l.mu.Lock(); l.idle = f; l.mu.Unlock() }

// AddChannel makes an empty channel exist.
func (l *Log) AddChannel(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.channel(path)
}

func (l *Log) channel(path string) *channel {
	k := strings.ToLower(path)
	c := l.channels[k]
	if c == nil {
		c = &channel{path: path, next: 1}
		l.channels[k] = c
	}
	return c
}

// Deny makes a channel exist but unreadable (ERROR_ACCESS_DENIED).
func (l *Log) Deny(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.channel(path)
	l.denied[strings.ToLower(path)] = true
}

// Append decodes an EVTX file's bytes and appends its records to the log
// path. A record of a local channel (its Channel is path) keeps its own
// record id as its position; in another log (ForwardedEvents) records are
// numbered by the log, as the collector numbers them.
func (l *Log) Append(path string, evtxBytes []byte) error {
	var recs []*evtx.Event
	_, err := evtx.Decode(bytes.NewReader(evtxBytes), path, evtx.Options{KeepTree: true}, func(ev *evtx.Event) error {
		recs = append(recs, ev)
		return nil
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.channel(path)
	for _, ev := range recs {
		pos := c.next
		if strings.EqualFold(ev.Channel, path) {
			pos = ev.RecordID
		}
		c.recs = append(c.recs, record{pos: pos, xml: ev.XML(), ev: ev})
		c.next = pos + 1
	}
	return nil
}

// Clear empties a channel as "wevtutil cl" does: open subscriptions on it
// then fail with ERROR_EVT_QUERY_RESULT_STALE, and numbering starts again
// at 1.
func (l *Log) Clear(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.channel(path)
	c.recs = nil
	c.next = 1
	c.gen++
}

// Trim drops a channel's records up to position pos, as a log that wrapped
// overwrites its oldest records (open subscriptions go on).
func (l *Log) Trim(path string, pos uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.channel(path)
	kept := c.recs[:0]
	for _, r := range c.recs {
		if r.pos > pos {
			kept = append(kept, r)
		}
	}
	c.recs = kept
}

// FailNext queues errors for the next Next calls of any subscription.
func (l *Log) FailNext(errs ...error) {
	l.mu.Lock()
	l.faults = append(l.faults, errs...)
	l.mu.Unlock()
}

// FailSubscribe queues errors for the next Subscribe calls.
func (l *Log) FailSubscribe(errs ...error) {
	l.mu.Lock()
	l.subFaults = append(l.subFaults, errs...)
	l.mu.Unlock()
}

// Probe implements live.Log.
func (l *Log) Probe(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := strings.ToLower(path)
	if l.channels[k] == nil {
		return fmt.Errorf("EvtQuery: %w", ErrChannelNotFound)
	}
	if l.denied[k] {
		return fmt.Errorf("EvtQuery: %w", ErrAccessDenied)
	}
	return nil
}

// cursor is a reader's position in one channel.
type cursor struct {
	c   *channel
	gen int
	at  uint64 // last position handed out
}

type reader struct {
	l       *Log
	q       live.Query
	curs    []*cursor
	current string
	follow  bool
}

func (l *Log) open(q live.Query, from live.Start, follow bool) (*reader, error) {
	var pos map[string]uint64
	if from.Origin == live.AfterBookmark {
		var err error
		if pos, err = live.ParseBookmark(from.Bookmark); err != nil {
			return nil, fmt.Errorf("EvtCreateBookmark: %w", syscall.Errno(15008))
		}
	}
	r := &reader{l: l, q: q, follow: follow}
	for _, path := range q.Channels {
		c := l.channels[strings.ToLower(path)]
		if c == nil {
			return nil, fmt.Errorf("EvtSubscribe: %w", ErrChannelNotFound)
		}
		cur := &cursor{c: c, gen: c.gen}
		switch from.Origin {
		case live.FromNow:
			cur.at = c.next - 1
		case live.AfterBookmark:
			p, ok := bookmarkPos(pos, path)
			if ok && from.Strict && !c.has(p) {
				return nil, fmt.Errorf("EvtSubscribe: %w", ErrNotFound)
			}
			cur.at = p
		}
		r.curs = append(r.curs, cur)
	}
	return r, nil
}

func bookmarkPos(pos map[string]uint64, path string) (uint64, bool) {
	for k, v := range pos {
		if strings.EqualFold(k, path) {
			return v, true
		}
	}
	return 0, false
}

func (c *channel) has(pos uint64) bool {
	for _, r := range c.recs {
		if r.pos == pos {
			return true
		}
	}
	return false
}

// Subscribe implements live.Log.
func (l *Log) Subscribe(q live.Query, from live.Start) (live.Subscription, error) {
	if _, err := q.XML(); err != nil { // what Windows would be given
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Starts = append(l.Starts, from)
	l.Queries = append(l.Queries, q)
	if len(l.subFaults) > 0 {
		err := l.subFaults[0]
		l.subFaults = l.subFaults[1:]
		return nil, fmt.Errorf("EvtSubscribe: %w", err)
	}
	return l.open(q, from, true)
}

// Read implements live.Log.
func (l *Log) Read(q live.Query) (live.Reader, error) {
	if _, err := q.XML(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open(q, live.Start{Origin: live.FromOldest}, false)
}

// Next hands out up to max matching records, channel by channel.
func (r *reader) Next(max int) ([]string, error) {
	l := r.l
	l.mu.Lock()
	if r.follow && len(l.faults) > 0 {
		err := l.faults[0]
		l.faults = l.faults[1:]
		l.mu.Unlock()
		return nil, fmt.Errorf("EvtNext: %w", err)
	}
	var out []string
	for _, cur := range r.curs {
		if cur.gen != cur.c.gen {
			l.mu.Unlock()
			return nil, fmt.Errorf("EvtNext: %w", ErrQueryStale)
		}
		for _, rec := range cur.c.recs {
			if len(out) >= max {
				break
			}
			if rec.pos <= cur.at {
				continue
			}
			cur.at = rec.pos
			r.current = cur.c.path
			if r.q.Match(rec.ev) {
				out = append(out, rec.xml)
			}
		}
	}
	idle, idleErr := l.idle, l.IdleError
	l.mu.Unlock()
	if len(out) > 0 {
		return out, nil
	}
	if !r.follow {
		return nil, fmt.Errorf("EvtNext: %w", ErrNoMoreItems)
	}
	if idle != nil {
		idle()
	}
	return nil, fmt.Errorf("EvtNext: %w", idleErr)
}

func (r *reader) Close() {}

// Wait implements live.Subscription: a short sleep (the fake has no signal).
func (r *reader) Wait(ctx context.Context, d time.Duration) error {
	if d > 5*time.Millisecond {
		d = 5 * time.Millisecond
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return nil
}

// Bookmark implements live.Subscription: every channel's position, as
// EvtRender renders a bookmark.
func (r *reader) Bookmark() (string, error) {
	r.l.mu.Lock()
	defer r.l.mu.Unlock()
	pos := map[string]uint64{}
	for _, cur := range r.curs {
		if cur.at > 0 {
			pos[cur.c.path] = cur.at
		}
	}
	return live.BookmarkXML(pos, r.current), nil
}
