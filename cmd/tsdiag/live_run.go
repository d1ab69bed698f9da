package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/rules"
)

// liveSystem is what the live pipeline takes from the machine it runs on:
// the event log, the licensing configuration, the host name and the
// Application log. Windows fills it from the real system
// (live_windows.go); tests fill it with a recorded log (livetest), so the
// same pipeline runs on every platform.
type liveSystem struct {
	Log       live.Log
	Config    func(ctx context.Context) *tsdiag.LicensingConfig // nil: no configuration
	LocalHost string
	// EventLog opens the --eventlog sink; nil where there is none.
	EventLog func() (func(engine.Finding, string, []byte), func(), error)
}

// replayWindow is how far before the bookmark a restart re-reads the log:
// the longest window any rule needs (count, sequence and distinct windows,
// absence "within", persistence "over", recovery "quiet"), plus the
// engine's reorder horizon.
func replayWindow(set *rules.Set) time.Duration {
	var w time.Duration
	for _, r := range set.Rules {
		w = max(w, r.Window, r.PersistOver)
		if r.Recover != nil {
			w = max(w, r.Recover.Quiet)
		}
	}
	return w + engine.DefaultReorder
}

// forwarded tells whether the channels include a collector's
// ForwardedEvents log, whose events come from many hosts.
func forwarded(channels []string) bool {
	for _, c := range channels {
		if strings.EqualFold(c, "ForwardedEvents") {
			return true
		}
	}
	return false
}

// runLiveOn is the whole live pipeline: state lock, state, configuration,
// subscription, replay, engine(s), printer. It returns when ctx ends.
func runLiveOn(ctx context.Context, o liveOptions, sys liveSystem, stdout, stderr io.Writer) error {
	d, err := tsdiag.New(tsdiag.Config{RuleDirs: o.RuleDirs, NoBuiltin: o.NoBuiltin, Tool: toolVersion()})
	if err != nil {
		return withCode(exitError, err)
	}
	set := d.Rules()
	if err := os.MkdirAll(filepath.Dir(o.State), 0o755); err != nil {
		return withCode(exitError, err)
	}
	unlock, err := live.Lock(o.State)
	if err != nil {
		return withCode(exitError, err)
	}
	defer unlock()
	st, err := loadLiveState(o, stderr)
	if err != nil {
		return err
	}
	backfill, _ := o.backfill()
	plan, err := live.PlanStart(st, backfill, time.Now())
	if err != nil {
		return withCode(exitError, fmt.Errorf("state file %s: %w", o.State, err))
	}
	perHost := forwarded(o.Channels)
	var local *tsdiag.LicensingConfig
	if !o.NoConfig && sys.Config != nil {
		local = sys.Config(ctx)
	}
	newStream := func(host string) (*tsdiag.Stream, error) {
		var so tsdiag.StreamOptions
		// This machine's registry describes this machine: on a collector,
		// not the hosts that forward to it.
		if local != nil && (!perHost || strings.EqualFold(host, sys.LocalHost)) {
			so.Local, so.LocalHost = local, sys.LocalHost
		}
		return d.Stream(so)
	}
	first, err := newStream(sys.LocalHost)
	if err != nil {
		return withCode(exitError, err)
	}
	out, closeOut, err := openOutput(stdout, o.Output)
	if err != nil {
		return err
	}
	defer closeOut()
	pr := newFindingPrinter(out, o.Format, first.Config())
	if o.EventLog {
		if sys.EventLog == nil {
			return withCode(exitError, errors.New("--eventlog needs the Windows Application log"))
		}
		sink, closeLog, err := sys.EventLog()
		if err != nil {
			return withCode(exitError, err)
		}
		defer closeLog()
		pr.sink = sink
	}
	if err := pr.printConfig(); err != nil {
		return withCode(exitError, err)
	}
	fol := &follower{st: first, filter: set.Filter(), pr: pr, wall: time.Now, primeAt: st.Saved}
	if perHost {
		fol.perHost = newStream
	}
	skipped := 0
	opts := live.Options{Query: liveQuery(set, o.Channels), StatePath: o.State,
		Replay: replayWindow(set), OnReplay: fol.replay,
		OnDamage: func(err error) {
			// Counted, and told only for the first few: a damaged channel
			// must not flood stderr (or, as a service, the Application log).
			if skipped++; skipped <= 5 {
				fmt.Fprintf(stderr, "tsdiag: live: event skipped: %v\n", err)
			}
		},
		OnNote: func(s string) { fmt.Fprintf(stderr, "tsdiag: live: %s\n", s) },
	}
	banner := false
	opts.OnChannels = func(chans []string) {
		if banner {
			return
		}
		banner = true
		mode := ""
		if perHost {
			mode = ", each forwarding host on its own"
		}
		fmt.Fprintf(stderr, "tsdiag: live: following %d channels (%s), events since %s, state %s%s\n",
			len(chans), strings.Join(chans, ", "), plan.Since.Format(time.RFC3339), o.State, mode)
	}
	err = live.Drive(ctx, sys.Log, opts, st, plan, fol.batch)
	if ferr := fol.flush(); err == nil {
		err = ferr
	}
	if skipped > 5 {
		fmt.Fprintf(stderr, "tsdiag: live: %d events in all could not be decoded\n", skipped)
	}
	fmt.Fprintf(stderr, "tsdiag: live: stopped after %d events (%d could not be decoded)%s\n", fol.events, skipped, fol.hostSummary())
	if err != nil {
		return withCode(exitError, err)
	}
	return nil
}

func loadLiveState(o liveOptions, stderr io.Writer) (live.State, error) {
	st, err := live.LoadState(o.State)
	if errors.Is(err, live.ErrCorruptState) && o.ResetState {
		to, merr := live.MoveAside(o.State, time.Now())
		if merr != nil {
			return live.State{}, withCode(exitError, merr)
		}
		fmt.Fprintf(stderr, "tsdiag: live: %v; moved to %s, starting fresh\n", err, to)
		return live.State{Version: live.StateVersion}, nil
	}
	if errors.Is(err, live.ErrCorruptState) {
		return live.State{}, withCode(exitError, fmt.Errorf("%w (move it aside with --reset-state; events since the last good bookmark are then only read with --backfill)", err))
	}
	if err != nil {
		return live.State{}, withCode(exitError, err)
	}
	return st, nil
}
