package live_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/evtx/live/livetest"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

const (
	rcm      = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	licAdmin = "Microsoft-Windows-TerminalServices-Licensing/Admin"
)

var t0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// evtxOf writes records with the project's encoder: RCM 1131 (license
// server unreachable) for each id given, Service Control Manager noise in
// between, on channel ch of computer, the first at record id first.
func evtxOf(t *testing.T, ch, computer string, first uint64, at time.Time, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := writer.New(&b)
	for i := 0; i < n; i++ {
		r := writer.Record{Provider: rcm, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 1131, Level: 2,
			TimeCreated: at.Add(time.Duration(i) * time.Minute), Channel: ch, Computer: computer, RecordID: first + uint64(2*i),
			Payload: writer.EventXML(writer.String("LS01"))}
		noise := writer.Record{Provider: "Service Control Manager", EventID: 7036, Level: 4,
			TimeCreated: at.Add(time.Duration(i)*time.Minute + time.Second), Channel: ch, Computer: computer, RecordID: first + uint64(2*i+1),
			Payload: writer.ClassicData("Print Spooler", "running")}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(noise); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func appendLog(t *testing.T, lg *livetest.Log, path string, b []byte) {
	t.Helper()
	if err := lg.Append(path, b); err != nil {
		t.Fatal(err)
	}
}

var query = live.Query{Channels: []string{"System", licAdmin}, Refs: []live.Ref{{Provider: rcm, ID: 1131}}}

// session runs Drive until the loop has been idle (caught up) idleStops
// times after act ran, then stops it; it returns what the handler and
// OnReplay got and the notes.
type session struct {
	events, replayed []*evtx.Event
	notes, chans     []string
	err              error
}

func drive(t *testing.T, lg *livetest.Log, state string, opts live.Options, act func(n int) bool) session {
	t.Helper()
	st, err := live.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := live.PlanStart(st, 30*24*time.Hour, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var s session
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	idles := 0
	lg.OnIdle(func() {
		idles++
		if !act(idles) {
			cancel()
		}
	})
	opts.StatePath = state
	opts.Poll = time.Millisecond
	opts.Backoff = time.Millisecond
	if opts.Query.Channels == nil {
		opts.Query = query
	}
	opts.OnNote = func(n string) { mu.Lock(); s.notes = append(s.notes, n); mu.Unlock() }
	opts.OnChannels = func(c []string) { mu.Lock(); s.chans = append([]string{}, c...); mu.Unlock() }
	if opts.Replay > 0 {
		opts.OnReplay = func(evs []*evtx.Event) error { s.replayed = append(s.replayed, evs...); return nil }
	}
	done := make(chan error, 1)
	go func() {
		done <- live.Drive(ctx, lg, opts, st, plan, func(evs []*evtx.Event) error {
			mu.Lock()
			s.events = append(s.events, evs...)
			mu.Unlock()
			return nil
		})
	}()
	select {
	case s.err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Drive did not stop")
	}
	return s
}

func ids(evs []*evtx.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Computer + ":" + e.Channel + ":" + itoa(e.RecordID) + " ")
	}
	return strings.TrimSpace(b.String())
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func once(n int) bool { return n < 3 }

// An idle pull subscription failing with ERROR_INVALID_OPERATION is "no
// more items", not the end; a channel that does not exist is reported and
// not followed (nor counted).
func TestDriveIdleAndMissingChannel(t *testing.T) {
	lg := livetest.New()
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 10, t0, 3))
	state := filepath.Join(t.TempDir(), "state.json")
	s := drive(t, lg, state, live.Options{}, func(n int) bool { return n < 5 })
	if s.err != nil {
		t.Fatalf("Drive: %v", s.err)
	}
	if got := ids(s.events); got != "RDSH01:System:10 RDSH01:System:12 RDSH01:System:14" {
		t.Fatalf("events %q", got)
	}
	if strings.Join(s.chans, ",") != "System" {
		t.Fatalf("followed %v, want System only", s.chans)
	}
	if !strings.Contains(strings.Join(s.notes, "\n"), "channel "+licAdmin+" does not exist on this machine; not followed") {
		t.Fatalf("notes: %v", s.notes)
	}
	st, _ := live.LoadState(state)
	pos, _ := live.ParseBookmark(st.Bookmark)
	if pos["System"] < 15 || st.Streams["rdsh01\x00system"].Record != 14 {
		t.Fatalf("state: bookmark %v streams %v", pos, st.Streams)
	}
	// The channel appears (the role is installed): a new run follows it.
	lg.AddChannel(licAdmin)
	s = drive(t, lg, state, live.Options{}, once)
	if s.err != nil || len(s.events) != 0 || len(s.chans) != 2 {
		t.Fatalf("second run: %v events %q channels %v", s.err, ids(s.events), s.chans)
	}
}

// Recoverable errors mid-stream (the log cleared under the subscription,
// the EventLog service restarting) resubscribe from the last event
// delivered: nothing lost, nothing twice.
func TestDriveResubscribesAfterRecoverableErrors(t *testing.T) {
	lg := livetest.New()
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0, 3))
	state := filepath.Join(t.TempDir(), "state.json")
	s := drive(t, lg, state, live.Options{}, func(n int) bool {
		switch n {
		case 1:
			lg.FailNext(livetest.ErrServerUnavail)
			appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 7, t0.Add(time.Hour), 2))
		case 3:
			lg.FailNext(syscallErr(6)) // ERROR_INVALID_HANDLE
			lg.FailSubscribe(livetest.ErrServerUnavail, livetest.ErrServerUnavail)
			appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 11, t0.Add(2*time.Hour), 1))
		}
		return n < 6
	})
	if s.err != nil {
		t.Fatalf("Drive: %v", s.err)
	}
	want := "RDSH01:System:1 RDSH01:System:3 RDSH01:System:5 RDSH01:System:7 RDSH01:System:9 RDSH01:System:11"
	if got := ids(s.events); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	notes := strings.Join(s.notes, "\n")
	for _, w := range []string{"1722 RPC_S_SERVER_UNAVAILABLE", "6 ERROR_INVALID_HANDLE", "retrying in"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	strict := 0
	for _, st := range lg.Starts {
		if st.Origin == live.AfterBookmark && st.Strict && st.Bookmark != "" {
			strict++
		}
	}
	if strict < 2 {
		t.Errorf("resubscriptions not strict from the bookmark: %+v", lg.Starts)
	}
}

// Stopped, the log wraps: the bookmarked record is gone. A strict resume
// fails (ERROR_NOT_FOUND) and tsdiag reads again from its last delivered
// time, the records already delivered dropped by id: the records written
// while it was stopped arrive once, none is skipped.
func TestDriveBookmarkGoneAfterWrap(t *testing.T) {
	lg := livetest.New()
	lg.AddChannel(licAdmin)
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0, 3)) // 1..6
	state := filepath.Join(t.TempDir(), "state.json")
	if s := drive(t, lg, state, live.Options{}, once); s.err != nil || len(s.events) != 3 {
		t.Fatalf("first run: %v %q", s.err, ids(s.events))
	}
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 7, t0.Add(3*time.Minute), 2)) // 7..10
	lg.Trim("System", 6)                                                                   // wrapped over 1..6
	s := drive(t, lg, state, live.Options{}, once)
	if s.err != nil {
		t.Fatal(s.err)
	}
	if got := ids(s.events); got != "RDSH01:System:7 RDSH01:System:9" {
		t.Fatalf("after wrap: %q", got)
	}
	if !strings.Contains(strings.Join(s.notes, "\n"), "no longer in the log") {
		t.Fatalf("notes: %v", s.notes)
	}
}

// Cleared while stopped: numbering starts again at 1 with later times;
// those records are new and delivered, the old ones never again.
func TestDriveBookmarkGoneAfterClear(t *testing.T) {
	lg := livetest.New()
	lg.AddChannel(licAdmin)
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0, 3))
	state := filepath.Join(t.TempDir(), "state.json")
	if s := drive(t, lg, state, live.Options{}, once); s.err != nil || len(s.events) != 3 {
		t.Fatalf("first run: %v %q", s.err, ids(s.events))
	}
	lg.Clear("System")
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0.Add(time.Hour), 2))
	s := drive(t, lg, state, live.Options{}, once)
	if got := ids(s.events); s.err != nil || got != "RDSH01:System:1 RDSH01:System:3" {
		t.Fatalf("after clear: %v %q", s.err, got)
	}
}

// A resumed run re-reads the window before the bookmark for the
// correlations (OnReplay), hands only what came after to the handler, and
// replays nothing older than the window.
func TestDriveReplaysWindowBeforeBookmark(t *testing.T) {
	lg := livetest.New()
	lg.AddChannel(licAdmin)
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0.Add(-48*time.Hour), 1)) // outside the window
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 3, t0, 2))                    // 3, 5 inside
	state := filepath.Join(t.TempDir(), "state.json")
	if s := drive(t, lg, state, live.Options{}, once); s.err != nil || len(s.events) != 3 {
		t.Fatalf("first run: %v %q", s.err, ids(s.events))
	}
	// The first run's save time is the wall clock; the window is measured
	// back from the newest delivered event, so make it cover both 3 and 5.
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 7, t0.Add(time.Hour), 1))
	st, _ := live.LoadState(state)
	st.Saved = t0.Add(2 * time.Minute) // as if stopped right after event 5
	if err := st.Save(state); err != nil {
		t.Fatal(err)
	}
	s := drive(t, lg, state, live.Options{Replay: 24 * time.Hour}, once)
	if s.err != nil {
		t.Fatal(s.err)
	}
	if got := ids(s.replayed); got != "RDSH01:System:3 RDSH01:System:5" {
		t.Fatalf("replayed %q", got)
	}
	if got := ids(s.events); got != "RDSH01:System:7" {
		t.Fatalf("delivered %q", got)
	}
}

func syscallErr(code uintptr) error { return syscall.Errno(code) }

// Windows refuses the event-id query as too complex (15026, "split it into
// two or more simple expressions"): tsdiag subscribes again by provider only
// and filters the ids itself, so the same events arrive, and says so.
func TestDriveQueryTooComplexFallsBackToProviders(t *testing.T) {
	lg := livetest.New()
	appendLog(t, lg, "System", evtxOf(t, "System", "RDSH01", 1, t0, 3))
	lg.FailSubscribe(syscallErr(15026))
	s := drive(t, lg, filepath.Join(t.TempDir(), "state.json"), live.Options{}, once)
	if s.err != nil {
		t.Fatalf("Drive: %v", s.err)
	}
	if got := ids(s.events); got != "RDSH01:System:1 RDSH01:System:3 RDSH01:System:5" {
		t.Fatalf("events %q", got)
	}
	if len(lg.Queries) != 2 || lg.Queries[0].ProvidersOnly || !lg.Queries[1].ProvidersOnly {
		t.Fatalf("queries: want the event-id query, then provider only: %+v", lg.Queries)
	}
	if notes := strings.Join(s.notes, "\n"); !strings.Contains(notes, "15026 ERROR_EVT_FILTER_TOO_COMPLEX") || !strings.Contains(notes, "by provider only") {
		t.Errorf("notes:\n%s", notes)
	}
}
