package live

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// Options configure a subscription.
type Options struct {
	Query     Query
	StatePath string        // bookmark state file; "" keeps no state (every start is fresh)
	Batch     int           // events per EvtNext call (default 64)
	Poll      time.Duration // how often the loop wakes without a signal (default 1s)
	Tick      time.Duration // how often Handler gets an empty batch when idle (default 1m)
	// Replay is how far before the bookmark a resumed run re-reads the log
	// for the correlation engine (the longest window a rule needs), handing
	// what it finds to OnReplay rather than Handler. 0: no replay.
	Replay time.Duration
	// OnReplay receives the events before the bookmark (already reported by
	// the previous run), then nil once they are all handed over, before any
	// new event reaches Handler.
	OnReplay func(events []*evtx.Event) error
	// MaxReplay bounds the events a replay keeps (the newest; default 200000).
	MaxReplay int
	// MaxStreams bounds the de-duplication marks kept in the state file
	// (streams are computer × channel; default 20000).
	MaxStreams int
	// Backoff is the first wait before resubscribing after a recoverable
	// error (default 1s); it doubles up to 5 minutes. MaxRetries failed
	// attempts in a row end the run (default 12, about half an hour).
	Backoff    time.Duration
	MaxRetries int
	// OnDamage hears about an event that could not be rendered or decoded;
	// it is counted and skipped (the bookmark still moves past it).
	OnDamage func(err error)
	// OnNote hears about a change of plan: a channel left out, a query
	// Windows rejected, a resubscription.
	OnNote func(string)
	// OnChannels hears which channels are followed, at each subscription.
	OnChannels func(channels []string)
}

func (o Options) withDefaults() Options {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.MaxReplay <= 0 {
		o.MaxReplay = 200000
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 20000
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 12
	}
	if o.OnDamage == nil {
		o.OnDamage = func(error) {}
	}
	if o.OnNote == nil {
		o.OnNote = func(string) {}
	}
	if o.OnChannels == nil {
		o.OnChannels = func([]string) {}
	}
	return o
}

// maxBackoff caps the wait between resubscription attempts.
const maxBackoff = 5 * time.Minute

// Handler receives each batch of new events in delivery order. An empty
// batch says the subscription has caught up with everything waiting (after
// each burst, and once a Tick when idle); the bookmark is saved past the
// events handed over only after the handler returns nil for that empty
// batch, so a handler may hold events until then. A clean stop (ctx ended,
// service stop, Ctrl-C) commits first: nothing is lost or repeated across
// restarts. After a crash the events since the last commit are delivered
// again (at least once), never skipped.
type Handler func(events []*evtx.Event) error

// Plan decides how a subscription starts from saved state: after the
// bookmark when there is one, else from Since (a backfill) or from now on.
type Plan struct {
	Bookmark   string
	Positions  map[string]uint64
	FromOldest bool // read history (bounded by Query.Since) before going live
	Since      time.Time
}

// PlanStart works out the start for state st, a backfill duration and the
// current time. Since is remembered in the state on the first run so that a
// channel absent from the bookmark (no event yet) resumes from there too.
func PlanStart(st State, backfill time.Duration, now time.Time) (Plan, error) {
	if st.Bookmark != "" {
		pos, err := ParseBookmark(st.Bookmark)
		if err != nil {
			return Plan{}, err
		}
		return Plan{Bookmark: st.Bookmark, Positions: pos, Since: st.Since, FromOldest: true}, nil
	}
	if !st.Since.IsZero() {
		// A previous run started but saw no event: keep its start.
		return Plan{Since: st.Since, FromOldest: true}, nil
	}
	if backfill > 0 {
		return Plan{Since: now.Add(-backfill).UTC(), FromOldest: true}, nil
	}
	return Plan{Since: now.UTC()}, nil
}

// Log is the event log as the subscription loop sees it: the Windows event
// log through wevtapi (subscribe_windows.go), or a recorded log in tests
// (livetest). Everything above it — probing, query splitting, resume,
// replay, de-duplication, resubscription, state — is this portable code.
type Log interface {
	// Probe reports whether channel exists and can be read (nil), as an
	// error Classify maps to ChannelMissing or ChannelDenied otherwise.
	Probe(channel string) error
	// Subscribe opens a pull subscription to the events q selects.
	Subscribe(q Query, from Start) (Subscription, error)
	// Read reads the events q selects that are in the log now, oldest
	// first, and ends (Next returns an error classified NoMoreItems).
	Read(q Query) (Reader, error)
}

// Origin is where a subscription starts.
type Origin int

const (
	FromNow Origin = iota
	FromOldest
	AfterBookmark
)

// Start says where a subscription starts; Strict (with AfterBookmark)
// fails with ERROR_NOT_FOUND when the bookmarked record is gone rather
// than silently starting "after the event that is closest to the
// bookmarked event" (EVT_SUBSCRIBE_FLAGS, EvtSubscribeStrict,
// https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_subscribe_flags).
type Start struct {
	Origin   Origin
	Bookmark string
	Strict   bool
}

// Reader hands out rendered events (EvtRender's XML), at most max at a
// time. No event waiting is an error Classify maps to NoMoreItems (or an
// empty slice with a nil error).
type Reader interface {
	Next(max int) ([]string, error)
	Close()
}

// Subscription is a Reader that goes on: Wait blocks until the service
// signals new events, d passes or ctx ends; Bookmark is the position after
// the last event Next returned, as EvtRender renders a bookmark.
type Subscription interface {
	Reader
	Wait(ctx context.Context, d time.Duration) error
	Bookmark() (string, error)
}

// Drive runs a subscription on lg until ctx ends (a clean stop: the last
// acknowledged batch's bookmark is on disk) or a fatal error occurs.
// Recoverable errors resubscribe from the in-memory bookmark with backoff.
func Drive(ctx context.Context, lg Log, opts Options, st State, plan Plan, h Handler) error {
	opts = opts.withDefaults()
	r := &runner{lg: lg, opts: opts, st: st, h: h, noted: map[string]bool{}}
	r.dedupe = NewDedupe(true, plan.Positions, st.Saved)
	r.dedupe.Seed(st.Streams)
	r.q = opts.Query
	r.q.Since = plan.Since
	r.st.Since = plan.Since
	r.bookmark = plan.Bookmark
	if opts.StatePath != "" && st.Bookmark == "" {
		r.st.Saved = time.Now().UTC()
		if err := r.st.Save(opts.StatePath); err != nil {
			return err
		}
	}
	start := Start{Origin: FromNow}
	switch {
	case plan.Bookmark != "":
		start = Start{Origin: AfterBookmark, Bookmark: plan.Bookmark, Strict: true}
		if opts.Replay > 0 && opts.OnReplay != nil {
			if err := r.replay(); err != nil {
				return err
			}
		}
	case plan.FromOldest:
		start = Start{Origin: FromOldest}
	}
	return r.loop(ctx, start)
}

type runner struct {
	lg       Log
	opts     Options
	st       State
	h        Handler
	q        Query // the whole query; each subscription takes the channels that can be read
	dedupe   *Dedupe
	bookmark string // after the last event handed to h (in memory, not yet committed)
	pending  bool   // events handed over since the last commit
	noted    map[string]bool
}

func (r *runner) noteOnce(key, msg string) {
	if !r.noted[key] {
		r.noted[key] = true
		r.opts.OnNote(msg)
	}
}

// channels probes the query's channels and returns those that can be read;
// the others are reported (once each) and left out.
func (r *runner) channels() ([]string, error) {
	var ok []string
	var why []string
	for _, ch := range r.q.Channels {
		err := r.lg.Probe(ch)
		switch Classify(err) {
		case NoMoreItems: // nil: readable
			ok = append(ok, ch)
			delete(r.noted, "probe "+ch)
			continue
		case ChannelMissing:
			r.noteOnce("probe "+ch, fmt.Sprintf("channel %s does not exist on this machine; not followed", ch))
		case ChannelDenied:
			r.noteOnce("probe "+ch, fmt.Sprintf("channel %s cannot be read by this account (%s); not followed (run as Administrator or a member of Event Log Readers)", ch, CodeName(err)))
		default:
			r.noteOnce("probe "+ch, fmt.Sprintf("channel %s cannot be opened: %v; not followed", ch, err))
		}
		why = append(why, ch)
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("none of the channels can be read: %s", strings.Join(why, ", "))
	}
	return ok, nil
}

// subscribe opens one subscription from start over the readable channels;
// a rejected query is retried once with providers only.
func (r *runner) subscribe(start Start) (Subscription, error) {
	chans, err := r.channels()
	if err != nil {
		return nil, err
	}
	q := r.q
	q.Channels = chans
	sub, err := r.lg.Subscribe(q, start)
	if Classify(err) == BadQuery && !q.ProvidersOnly {
		r.opts.OnNote(fmt.Sprintf("Windows rejected the event-id query (%s); subscribing by provider only, the event ids are filtered here", CodeName(err)))
		r.q.ProvidersOnly = true
		q.ProvidersOnly = true
		sub, err = r.lg.Subscribe(q, start)
	}
	if err == nil {
		r.opts.OnChannels(chans)
	}
	return sub, err
}

// open subscribes, handling a vanished bookmark with a bounded replay and
// recoverable errors with backoff.
func (r *runner) open(ctx context.Context, start Start) (Subscription, error) {
	wait := r.opts.Backoff
	for attempt := 1; ; attempt++ {
		sub, err := r.subscribe(start)
		if err == nil {
			return sub, nil
		}
		switch Classify(err) {
		case BookmarkGone:
			since := r.boundedReplaySince()
			r.opts.OnNote(fmt.Sprintf("the bookmarked record is no longer in the log (cleared or wrapped); reading again from %s, records already delivered are skipped by record id",
				since.UTC().Format(time.RFC3339)))
			r.q.Since = since
			start = Start{Origin: FromOldest}
			continue
		case Resubscribe, ChannelMissing, ChannelDenied:
			if attempt >= r.opts.MaxRetries {
				return nil, fmt.Errorf("subscription failed %d times in a row, last: %w", attempt, err)
			}
			r.opts.OnNote(fmt.Sprintf("subscription failed (%s: %v); retrying in %s", CodeName(err), err, wait))
			if !sleep(ctx, wait) {
				return nil, nil
			}
			wait = min(2*wait, maxBackoff)
			continue
		}
		return nil, err
	}
}

// boundedReplaySince is where to read again when the bookmarked record is
// gone: from the oldest stream mark (the last record delivered per
// stream), else the state's save time. Everything older than that was
// delivered; the de-duplication drops what was delivered after it.
func (r *runner) boundedReplaySince() time.Time {
	since := r.st.Saved
	for _, m := range r.dedupe.Marks(0) {
		if !m.Time.IsZero() && (since.IsZero() || m.Time.Before(since)) {
			since = m.Time
		}
	}
	if since.Before(r.st.Since) {
		since = r.st.Since
	}
	return since
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// loop follows subscriptions until ctx ends, resubscribing after
// recoverable errors from where the last delivered event left off.
func (r *runner) loop(ctx context.Context, start Start) error {
	for {
		sub, err := r.open(ctx, start)
		if err != nil {
			return err
		}
		if sub == nil { // ctx ended while waiting to retry
			return r.commitIfPending()
		}
		err = r.follow(ctx, sub)
		sub.Close()
		if err == nil {
			return nil
		}
		switch Classify(err) {
		case Resubscribe, ChannelMissing, ChannelDenied:
			r.opts.OnNote(fmt.Sprintf("subscription lost (%s: %v); resubscribing from the last event delivered", CodeName(err), err))
			if !sleep(ctx, r.opts.Backoff) {
				return r.commitIfPending()
			}
			if r.bookmark != "" {
				start = Start{Origin: AfterBookmark, Bookmark: r.bookmark, Strict: true}
			}
			continue
		}
		return err
	}
}

// follow reads one subscription: drain on every wake, commit after each
// burst, tick when idle. It returns nil when ctx ends (after committing)
// or the error that broke the subscription (after committing what was
// delivered, so a resubscription neither loses nor repeats it).
func (r *runner) follow(ctx context.Context, sub Subscription) error {
	idle := time.Now()
	for {
		// Drain on every wake, signalled or not, so a signal raised between
		// the last Next and the wait can never strand events.
		got, err := r.drain(ctx, sub)
		if err != nil {
			if cerr := r.commitIfPending(); cerr != nil {
				return cerr
			}
			return err
		}
		switch {
		case got || r.pending:
			idle = time.Now()
			if err := r.commitIfPending(); err != nil {
				return err
			}
		case time.Since(idle) >= r.opts.Tick:
			idle = time.Now()
			if err := r.h(nil); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err := sub.Wait(ctx, r.opts.Poll); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

func (r *runner) drain(ctx context.Context, sub Subscription) (bool, error) {
	got := false
	for ctx.Err() == nil {
		xs, err := sub.Next(r.opts.Batch)
		if err != nil {
			if Classify(err) == NoMoreItems {
				return got, nil
			}
			return got, err
		}
		if len(xs) == 0 {
			return got, nil
		}
		got = true
		bm, err := sub.Bookmark()
		if err != nil {
			return got, err
		}
		if err := r.batch(xs); err != nil {
			return got, err
		}
		r.bookmark = bm
		r.pending = true
	}
	return got, nil
}

// batch decodes and de-duplicates events and hands them over.
func (r *runner) batch(xs []string) error {
	var events []*evtx.Event
	for _, x := range xs {
		ev, err := Decode(x, "live")
		if err != nil {
			r.opts.OnDamage(err)
			continue
		}
		if r.dedupe.New(ev) {
			events = append(events, ev)
		}
	}
	r.st.Events += uint64(len(events))
	if len(events) == 0 {
		return nil
	}
	return r.h(events)
}

// commitIfPending tells the handler the subscription caught up (an empty
// batch) and, once it has dealt with everything, saves the bookmark and
// the stream marks atomically.
func (r *runner) commitIfPending() error {
	if !r.pending {
		return nil
	}
	if err := r.h(nil); err != nil {
		return err
	}
	r.pending = false
	r.st.Bookmark = r.bookmark
	r.st.Streams = r.dedupe.Marks(r.opts.MaxStreams)
	r.st.Saved = time.Now().UTC()
	if r.opts.StatePath == "" {
		return nil
	}
	return r.st.Save(r.opts.StatePath)
}

// replay re-reads the correlation window before the bookmark: events the
// previous run delivered (at or below their stream's mark), newest
// MaxReplay kept, handed to OnReplay. Events after the bookmark are left
// to the subscription. A replay that cannot run is reported, not fatal:
// live goes on, only without the history.
func (r *runner) replay() error {
	ref := r.st.Saved
	for _, m := range r.dedupe.Marks(0) {
		if m.Time.After(ref) {
			ref = m.Time
		}
	}
	q := r.q
	q.Since = ref.Add(-r.opts.Replay)
	if q.Since.Before(r.st.Since) {
		q.Since = r.st.Since
	}
	chans, err := r.channels()
	if err != nil {
		return err
	}
	q.Channels = chans
	rd, err := r.lg.Read(q)
	if err != nil {
		r.opts.OnNote(fmt.Sprintf("history before the bookmark not re-read (%v): correlations start afresh", err))
		return r.opts.OnReplay(nil)
	}
	defer rd.Close()
	var kept []*evtx.Event
	dropped := 0
	for {
		xs, err := rd.Next(r.opts.Batch)
		if err != nil && Classify(err) != NoMoreItems {
			r.opts.OnNote(fmt.Sprintf("re-reading history stopped early (%s: %v)", CodeName(err), err))
			break
		}
		if len(xs) == 0 {
			break
		}
		for _, x := range xs {
			ev, derr := Decode(x, "live")
			if derr != nil || !r.dedupe.Delivered(ev) {
				continue // damaged, or after the bookmark: the subscription delivers it
			}
			kept = append(kept, ev)
		}
		if over := len(kept) - r.opts.MaxReplay; over > 0 {
			dropped += over
			kept = append(kept[:0:0], kept[over:]...)
		}
	}
	msg := fmt.Sprintf("re-read %d events since %s (the longest rule window before the bookmark) for correlations; not reported again",
		len(kept), q.Since.UTC().Format(time.RFC3339))
	if dropped > 0 {
		msg += fmt.Sprintf(" (%d older ones beyond the %d kept)", dropped, r.opts.MaxReplay)
	}
	r.opts.OnNote(msg)
	if len(kept) > 0 {
		if err := r.opts.OnReplay(kept); err != nil {
			return err
		}
	}
	return r.opts.OnReplay(nil)
}
