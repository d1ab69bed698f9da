package tsdiag

import (
	"fmt"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
)

// firstPass reads the registry exports of every seekable input and, when
// a relative since counts back from the newest event, finds that event:
// a filtered decode (only the events a rule can match are decoded), so it
// costs a fraction of the scan. Faults are reported by the second pass,
// which reads the same inputs.
func (sc *scan) firstPass(reg *regConfig, inputs []Input) time.Time {
	var files []string
	for _, in := range inputs {
		if !in.stream() {
			files = append(files, in.path)
		}
	}
	if len(files) == 0 {
		return time.Time{}
	}
	needNewest := sc.d.cfg.SinceAgo > 0 && sc.d.cfg.Now.IsZero()
	var newest time.Time
	opts := source.Options{SkipLogs: !needNewest, OnOther: reg.take}
	if needNewest {
		opts.Filter = sc.d.set.Filter()
	}
	_, _ = source.Walk(files, opts, func(ev *evtx.Event) error {
		if ev.TimeCreated.After(newest) {
			newest = ev.TimeCreated
		}
		return nil
	})
	return newest
}

// window is the engine's time window: a relative since counts back from
// Now, else from newest (the newest licensing event of the inputs).
func (d *Diagnoser) window(newest time.Time) (engine.Options, error) {
	w := engine.Options{Now: d.cfg.Now, Since: d.cfg.Since, Until: d.cfg.Until}
	if d.cfg.SinceAgo > 0 {
		ref := d.cfg.Now
		if ref.IsZero() {
			ref = newest
		}
		if ref.IsZero() {
			// No licensing event at all: nothing to set aside.
			return w, nil
		}
		w.Since = ref.Add(-d.cfg.SinceAgo)
		if !w.Until.IsZero() && w.Until.Before(w.Since) {
			return w, fmt.Errorf("--until %s is before --since %s (%s before %s)", stampOf(w.Until), stampOf(w.Since), durationText(d.cfg.SinceAgo), stampOf(ref))
		}
	}
	return w, nil
}

// durationText writes a duration the way --since takes it: 30d, 12h, 90m.
func durationText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}
