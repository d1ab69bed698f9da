package live

import (
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
	// OnDamage hears about an event that could not be rendered or decoded;
	// it is counted and skipped (the bookmark still moves past it).
	OnDamage func(err error)
	// OnNote hears about a change of plan, e.g. a query Windows rejected
	// being replaced by its providers-only form.
	OnNote func(string)
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
	if o.OnDamage == nil {
		o.OnDamage = func(error) {}
	}
	if o.OnNote == nil {
		o.OnNote = func(string) {}
	}
	return o
}

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
