package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/rules"
)

// A live subscription delivers one channel's history before another's; the
// follower must hold batches until the source has caught up and then feed
// them in time order, or correlations would see the older events as late.
func TestLiveFollowerHoldsUntilCaughtUp(t *testing.T) {
	d, err := tsdiag.New(tsdiag.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stream(tsdiag.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	wall := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	fol := &follower{st: st, filter: d.Filter(), pr: newFindingPrinter(&out, "text", nil),
		wall: func() time.Time { return wall }}
	mk := func(channel string, id uint16, day int, params ...string) *evtx.Event {
		return &evtx.Event{Provider: rcmProvider, EventID: id, Channel: channel, Computer: "RDSH01",
			TimeCreated: time.Date(2024, 3, 1+day, 3, 0, 0, 0, time.UTC), Params: params}
	}
	// "Admin" history arrives first and is newer than the "System" history.
	if err := fol.batch([]*evtx.Event{mk("Admin", 50280, 6), mk("Admin", 50280, 7)}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed before catching up:\n%s", out.String())
	}
	var sys []*evtx.Event
	for d := 1; d <= 5; d++ {
		sys = append(sys, mk("System", 50281, d, "3/6/2024"))
	}
	if err := fol.batch(sys); err != nil {
		t.Fatal(err)
	}
	if err := fol.batch(nil); err != nil { // caught up
		t.Fatal(err)
	}
	if st := fol.st.Stats(); st.Late != 0 || fol.events != 7 {
		t.Fatalf("late %d, fed %d", st.Late, fol.events)
	}
	text := out.String()
	// The countdown's date (3/6) has passed: it is part of the expired
	// incident (warnings=5), not a separate "about to expire".
	if strings.Contains(text, "grace-period-expiring host=") {
		t.Errorf("a passed countdown printed as its own finding:\n%s", text)
	}
	for _, want := range []string{"grace-period-expired [grace-period-expired.after-countdown]", "warnings=5"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	// The plain expiry rule agrees with the countdown variant: one finding, not two.
	if strings.Contains(text, "grace-period-expired host=RDSH01") {
		t.Errorf("variant rules of one diagnosis printed twice:\n%s", text)
	}
}

func TestLiveQueryFromBuiltinRules(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	q := liveQuery(set, nil)
	x, err := q.XML()
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Channels) != len(live.Channels) || strings.Count(x, "<Select ") != len(live.Channels) {
		t.Fatalf("channels: %v", q.Channels)
	}
	// Windows' spelling, whatever case the rule set keeps names in.
	for _, p := range []string{"TermService", "TermServLicensing", "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
		"Microsoft-Windows-TerminalServices-Licensing", "Service Control Manager"} {
		if !strings.Contains(x, "Provider[@Name='"+p+"']") {
			t.Errorf("provider %s missing from the query:\n%s", p, x)
		}
	}
	if strings.Contains(x, "Provider[@Name='termservice']") {
		t.Errorf("lower-case provider name in the query")
	}
	if !strings.Contains(x, "EventID=50280") && !strings.Contains(x, "EventID&gt;=50280") {
		t.Errorf("grace expiry id missing:\n%s", x)
	}
}

func TestLivePrintQuery(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"live", "--print-query", "--channel", "System"}, &out, &errOut)
	if code != exitOK || !strings.HasPrefix(out.String(), "<QueryList>") || strings.Count(out.String(), "<Select ") != 1 ||
		!strings.Contains(out.String(), "Provider[@Name='TermService']") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}
