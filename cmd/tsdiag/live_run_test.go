package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/evtx/live/livetest"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/rules"
)

// timeouts are RCM 20497 ("licensing has taken too long"; three in a day on
// one host is licensing-timed-out) on computer's System log, one every 10
// minutes from at, record ids from first, with Kernel-General noise (no
// rule selects it, so the query leaves it in the log) between them.
func timeouts(computer string, at time.Time, first uint64, n int) []writer.Record {
	var recs []writer.Record
	for i := 0; i < n; i++ {
		recs = append(recs,
			writer.Record{Provider: rcmProvider, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 20497, Level: 3,
				TimeCreated: at.Add(time.Duration(i) * 10 * time.Minute), Channel: "System", Computer: computer, RecordID: first + uint64(2*i)},
			writer.Record{Provider: "Microsoft-Windows-Kernel-General", EventID: 16, Level: 4,
				TimeCreated: at.Add(time.Duration(i)*10*time.Minute + time.Second), Channel: "System", Computer: computer,
				RecordID: first + uint64(2*i+1), Payload: writer.NamedData("HiveName", writer.String(`\??\C:\Windows\System32\config\SOFTWARE`))})
	}
	return recs
}

// liveRun runs the live pipeline on a recorded log until it has caught up
// (idle twice), then stops it, and returns stdout and stderr.
type liveResult struct{ out, errOut string }

func runRecorded(t *testing.T, lg *livetest.Log, o liveOptions, sys liveSystem) liveResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	idles := 0
	lg.OnIdle(func() {
		if idles++; idles >= 3 {
			cancel()
		}
	})
	sys.Log = lg
	var out, errOut bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- runLiveOn(ctx, o, sys, &out, &errOut) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("live: %v\n%s", err, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("live did not stop")
	}
	return liveResult{out.String(), errOut.String()}
}

func findingLines(out, id string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+id) {
			lines = append(lines, l)
		}
	}
	return lines
}

// A correlation that straddles a restart is still made: two timeouts on
// RDSH01 before the stop and one after are "three in a day", because the
// restart re-reads the rule window before the bookmark. What the first run
// reported (RDSH02's three) is not reported again.
func TestLiveRestartKeepsCorrelations(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	lg := livetest.New()
	first := append(timeouts("RDSH02.contoso.com", t0.Add(-time.Hour), 1, 3), timeouts("RDSH01.contoso.com", t0, 7, 2)...)
	if err := lg.Append("System", encodeRecords(t, first)); err != nil {
		t.Fatal(err)
	}
	o := liveOptions{State: filepath.Join(t.TempDir(), "state.json"), Format: "text", NoConfig: true, Backfill: "60d"}
	r1 := runRecorded(t, lg, o, liveSystem{LocalHost: "RDSH01"})
	if l := findingLines(r1.out, "licensing-timed-out"); len(l) != 1 || !strings.Contains(l[0], "RDSH02") || !strings.Contains(l[0], "NEW") {
		t.Fatalf("first run, want RDSH02 only:\n%s\n%s", r1.out, r1.errOut)
	}
	for _, note := range []string{"channel Microsoft-Windows-TerminalServices-Licensing/Admin does not exist on this machine; not followed", "following 1 channels (System)"} {
		if !strings.Contains(r1.errOut, note) {
			t.Errorf("stderr lacks %q:\n%s", note, r1.errOut)
		}
	}
	if err := lg.Append("System", encodeRecords(t, timeouts("RDSH01.contoso.com", t0.Add(time.Hour), 11, 1))); err != nil {
		t.Fatal(err)
	}
	r2 := runRecorded(t, lg, o, liveSystem{LocalHost: "RDSH01"})
	lines := findingLines(r2.out, "licensing-timed-out")
	if len(lines) != 1 || !strings.Contains(lines[0], "RDSH01") || !strings.Contains(lines[0], "NEW") || !strings.Contains(lines[0], "count=3") {
		t.Fatalf("second run, want RDSH01 (count 3) only:\n%s\n%s", r2.out, r2.errOut)
	}
	if !strings.Contains(r2.errOut, "re-read 5 events since") || !strings.Contains(r2.errOut, "stopped after 1 events") {
		t.Errorf("replay not reported as such:\n%s", r2.errOut)
	}
	// A third run with nothing new prints nothing at all.
	r3 := runRecorded(t, lg, o, liveSystem{LocalHost: "RDSH01"})
	if strings.TrimSpace(r3.out) != "" {
		t.Fatalf("third run reported again:\n%s", r3.out)
	}
}

// A collector's ForwardedEvents holds several hosts' System events, each
// numbered by its own host (the same record ids on every host). Each host
// is diagnosed on its own — its own stream, its own marks in the state file
// — and a host's correlation survives a restart; the findings go back to
// the Application log with --eventlog.
func TestLiveForwardedEventsPerHost(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	lg := livetest.New()
	var recs []writer.Record
	recs = append(recs, timeouts("RDSH01.contoso.com", t0, 1, 3)...)                  // fires
	recs = append(recs, timeouts("RDSH02.contoso.com", t0.Add(time.Minute), 1, 2)...) // two: not yet
	// RDSH03's forwarding was down for three days: its backlog arrives
	// after the others' newer events, and is diagnosed on its own clock.
	recs = append(recs, timeouts("RDSH03.contoso.com", t0.Add(-72*time.Hour), 1, 3)...)
	if err := lg.Append("ForwardedEvents", encodeRecords(t, recs)); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var written []string
	// The collector's own registry says "mode not configured": that is the
	// collector's configuration, not the forwarding hosts'.
	reg := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n\"LicensingMode\"=dword:00000005\r\n"
	rf, err := regcfg.ParseReg(strings.NewReader(reg), "WEC01.reg")
	if err != nil {
		t.Fatal(err)
	}
	c := regcfg.Read(rf, "registry")
	collectorCfg := &c
	sys := liveSystem{LocalHost: "WEC01", Config: func(context.Context) *tsdiag.LicensingConfig { return collectorCfg }, EventLog: func() (func(engine.Finding, string, []byte), func(), error) {
		return func(f engine.Finding, line string, js []byte) {
			id, level := eventLogID(f.Severity)
			mu.Lock()
			written = append(written, level+" "+strconv.Itoa(int(id))+" "+cutMessage(line+"\r\n\r\n"+string(js), maxEventChars))
			mu.Unlock()
		}, func() {}, nil
	}}
	state := filepath.Join(t.TempDir(), "state.json")
	o := liveOptions{State: state, Format: "text", Backfill: "60d", EventLog: true, Channels: []string{"ForwardedEvents"}}
	r1 := runRecorded(t, lg, o, sys)
	modeLines := findingLines(r1.out, "licensing-mode-not-configured")
	for _, l := range modeLines {
		if strings.Contains(l, "RDSH") {
			t.Errorf("the collector's registry applied to a forwarding host: %s", l)
		}
	}
	lines := findingLines(r1.out, "licensing-timed-out")
	if len(lines) != 2 || !strings.Contains(r1.out, "RDSH01") || !strings.Contains(r1.out, "RDSH03") || strings.Contains(strings.Join(lines, "\n"), "RDSH02") {
		t.Fatalf("want RDSH01 and RDSH03, not RDSH02:\n%s\n%s", r1.out, r1.errOut)
	}
	if !strings.Contains(r1.errOut, "each forwarding host on its own") || !strings.Contains(r1.errOut, "3 forwarding hosts") {
		t.Errorf("stderr:\n%s", r1.errOut)
	}
	t.Logf("first run:\n%s", r1.out)
	if n := countWith(written, "warning 300 ", "licensing-timed-out"); n != 2 {
		t.Fatalf("event log got %d licensing-timed-out events (want 2 at 300 warning): %q", n, written)
	}
	st, err := live.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]uint64{"rdsh01.contoso.com": 5, "rdsh02.contoso.com": 3, "rdsh03.contoso.com": 5} {
		if m := st.Streams[h+"\x00system"]; m.Record != want {
			t.Errorf("%s: mark %+v, want record %d, in %v", h, m, want, st.Streams)
		}
	}
	// RDSH02's third timeout arrives after a restart: the per-host replay
	// completes its count; nobody else is reported again.
	if err := lg.Append("ForwardedEvents", encodeRecords(t, timeouts("RDSH02.contoso.com", t0.Add(time.Hour), 5, 1))); err != nil {
		t.Fatal(err)
	}
	written = nil
	r2 := runRecorded(t, lg, o, sys)
	lines = findingLines(r2.out, "licensing-timed-out")
	if len(lines) != 1 || !strings.Contains(lines[0], "RDSH02") || !strings.Contains(lines[0], "count=3") || len(written) != 1 ||
		countWith(written, "warning 300 ", "RDSH02") != 1 {
		t.Fatalf("after restart, want RDSH02 only:\n%s\n%s\n%q", r2.out, r2.errOut, written)
	}
}

func TestReplayWindowIsTheLongestRuleWindow(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// The built-in pack's longest: cal-pool-exhausted's 120 days.
	if w := replayWindow(set); w != 120*24*time.Hour+engine.DefaultReorder {
		t.Fatalf("replay window %v", w)
	}
}

// countWith counts the entries that start with prefix and contain sub.
func countWith(entries []string, prefix, sub string) int {
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, sub) {
			n++
		}
	}
	return n
}
