//go:build windows

package live

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/tsdiag/tsdiag/evtx"
)

const testSource = "tsdiag-live-test"

// TestSubscribeResume writes events to the Application log, follows them,
// stops, writes more, and resumes from the saved bookmark: every event is
// delivered exactly once. It needs the right to register an event source
// (Administrator) and skips otherwise.
func TestSubscribeResume(t *testing.T) {
	if err := eventlog.InstallAsEventCreate(testSource, eventlog.Info); err != nil {
		t.Skipf("cannot register event source %s (run as Administrator): %v", testSource, err)
	}
	defer eventlog.Remove(testSource)
	el, err := eventlog.Open(testSource)
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	state := filepath.Join(t.TempDir(), "state.json")
	// An id of its own, so events of an earlier run are not selected.
	id := uint32(100 + time.Now().UnixNano()%800)
	opts := Options{
		Query:     Query{Channels: []string{"Application"}, Refs: []Ref{{testSource, uint16(id)}}},
		StatePath: state, Poll: 50 * time.Millisecond,
	}
	write := func(n int) {
		for i := 0; i < n; i++ {
			if err := el.Info(id, "tsdiag live test event"); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := follow(t, opts, state, func() { write(3) }, 3)
	write(2) // while stopped
	second := follow(t, opts, state, func() {}, 2)
	seen := map[uint64]bool{}
	for _, ev := range append(first, second...) {
		if seen[ev.RecordID] {
			t.Fatalf("record %d delivered twice", ev.RecordID)
		}
		seen[ev.RecordID] = true
		if ev.Provider != testSource || ev.EventID != uint16(id) || ev.Channel != "Application" {
			t.Fatalf("unexpected event %+v", ev)
		}
	}
}

// A channel that does not exist is ERROR_EVT_CHANNEL_NOT_FOUND from the
// probe, classified ChannelMissing; System exists and can be read by an
// administrator.
func TestProbeChannels(t *testing.T) {
	lg, err := Local()
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Probe("System"); err != nil {
		t.Fatalf("System: %v", err)
	}
	err = lg.Probe("Microsoft-Windows-TsdiagNoSuchChannel/Admin")
	if Classify(err) != ChannelMissing {
		t.Fatalf("missing channel: %v classified %v (%s)", err, Classify(err), CodeName(err))
	}
}

// The split query of the built-in pack's shape is accepted by the event
// log service (no ERROR_EVT_INVALID_QUERY) and reads to the end with
// ERROR_NO_MORE_ITEMS. Many ids of one provider force several Selects.
func TestQueryAcceptedByService(t *testing.T) {
	lg, err := Local()
	if err != nil {
		t.Fatal(err)
	}
	var refs []Ref
	for i := 0; i < 90; i++ {
		refs = append(refs, Ref{"Service Control Manager", uint16(7000 + 3*i)})
	}
	q := Query{Channels: []string{"System", "Application"}, Refs: refs, Since: time.Now().Add(-24 * time.Hour)}
	sels, _ := q.Selects()
	if len(sels) < 4 {
		t.Fatalf("only %d selects", len(sels))
	}
	rd, err := lg.Read(q)
	if err != nil {
		t.Fatalf("EvtQuery rejected the split query (%s): %v", CodeName(err), err)
	}
	defer rd.Close()
	for i := 0; i < 10000; i++ {
		xs, err := rd.Next(64)
		if err != nil {
			if Classify(err) != NoMoreItems {
				t.Fatalf("reading: %v (%s)", err, CodeName(err))
			}
			return
		}
		for _, x := range xs {
			if _, err := Decode(x, "live"); err != nil {
				t.Fatalf("rendered event does not decode: %v", err)
			}
		}
		if len(xs) == 0 {
			return
		}
	}
}

// follow runs a subscription until want events arrived (bounded wait).
func follow(t *testing.T, opts Options, state string, after func(), want int) []*evtx.Event {
	t.Helper()
	st, err := LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	// A minute of backfill: events written before the subscription is
	// established are still read.
	plan, err := PlanStart(st, time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []*evtx.Event
	enough := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, opts, st, plan, func(evs []*evtx.Event) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, evs...)
			if len(got) >= want {
				select {
				case <-enough:
				default:
					close(enough)
				}
			}
			return nil
		})
	}()
	after()
	select {
	case <-enough:
	case err := <-done:
		t.Fatalf("subscription ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d of %d events within 30s", len(got), want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != want {
		t.Fatalf("got %d events, want %d", len(got), want)
	}
	return got
}
