package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/report"
)

const rcmProvider = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

// graceLog is a 2019 session host running out of grace: background noise,
// daily countdown warnings (50281) naming the end date from day 0, then the
// expiry (50280) every day after it.
func graceLog(host string, days int) []writer.Record {
	t0 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	end := t0.AddDate(0, 0, 5)
	var recs []writer.Record
	for d := 0; d < days; d++ {
		day := t0.AddDate(0, 0, d)
		for i := 0; i < 40; i++ {
			recs = append(recs, writer.Record{
				Provider: "Service Control Manager", EventSourceName: "Service Control Manager", EventID: 7036, Qualifiers: 16384,
				Level: 4, TimeCreated: day.Add(time.Duration(i) * 30 * time.Minute), Channel: "System", Computer: host,
				Payload: writer.NamedData("param1", writer.String("Windows Update"), "param2", writer.String("running")),
			})
		}
		r := writer.Record{Provider: rcmProvider, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 50281, Level: 3,
			TimeCreated: day.Add(3*time.Hour + time.Minute), Channel: "System", Computer: host,
			Payload: writer.EventXML(writer.String(end.Format("1/2/2006")))}
		if !day.Before(end) {
			r.EventID, r.Level, r.Payload = 50280, 2, writer.Payload{}
		}
		recs = append(recs, r)
	}
	return recs
}

func encodeRecords(t *testing.T, recs []writer.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	w := writer.New(&b)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeInPlace(t *testing.T, path string, content []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(content, 0); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the watcher writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type watchRun struct {
	mu     sync.Mutex
	polls  int
	tick   chan struct{}
	cancel context.CancelFunc
	done   chan error
	out    *syncBuffer
	errOut *syncBuffer
}

func startWatch(t *testing.T, o watchOptions) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &watchRun{tick: make(chan struct{}, 1), cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}, errOut: &syncBuffer{}}
	o.Interval = 5 * time.Millisecond
	o.onPoll = func(n int) {
		r.mu.Lock()
		r.polls = n
		r.mu.Unlock()
		select {
		case r.tick <- struct{}{}:
		default:
		}
	}
	go func() { r.done <- runWatch(ctx, o, r.out, r.errOut) }()
	r.settle(t)
	return r
}

// settle waits (bounded) until two more polls completed.
func (r *watchRun) settle(t *testing.T) {
	t.Helper()
	r.mu.Lock()
	target := r.polls + 2
	r.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		n := r.polls
		r.mu.Unlock()
		if n >= target {
			return
		}
		select {
		case <-r.tick:
		case err := <-r.done:
			t.Fatalf("watch ended: %v\nstderr: %s", err, r.errOut)
		case <-deadline:
			t.Fatal("no poll within 10s")
		}
	}
}

func (r *watchRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop after cancel")
	}
}

func TestWatchPrintsFindingsAsTheyChange(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "System.evtx")
	recs := graceLog("RDSH01.contoso.com", 8)
	perDay := len(recs) / 8
	writeInPlace(t, path, encodeRecords(t, recs[:2*perDay]))
	r := startWatch(t, watchOptions{Path: path, Format: "text"})
	lines := func() []string { return strings.Split(strings.TrimSpace(r.out.String()), "\n") }
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "NEW     high     grace-period-expiring host=RDSH01.contoso.com") ||
		!strings.Contains(l[0], "count=2") || !strings.Contains(l[0], "days_left=3") {
		t.Fatalf("after two days:\n%s", r.out)
	}
	// Day 3: the same finding changes (count, last seen, days left).
	writeInPlace(t, path, encodeRecords(t, recs[:3*perDay]))
	r.settle(t)
	if l := lines(); len(l) != 2 || !strings.Contains(l[1], "UPDATED high     grace-period-expiring") || !strings.Contains(l[1], "count=3") ||
		!strings.Contains(l[1], "days_left=2") {
		t.Fatalf("after day three:\n%s", r.out)
	}
	// No change: nothing printed.
	r.settle(t)
	if len(lines()) != 2 {
		t.Fatalf("printed without a change:\n%s", r.out)
	}
	// Through the end date: the expiry appears.
	writeInPlace(t, path, encodeRecords(t, recs))
	r.settle(t)
	r.stop(t)
	out := r.out.String()
	if !strings.Contains(out, "NEW     critical grace-period-expired host=RDSH01.contoso.com") {
		t.Fatalf("expiry not reported:\n%s", out)
	}
	if !strings.Contains(r.errOut.String(), "following (") || !strings.Contains(r.errOut.String(), "stopped after") {
		t.Fatalf("stderr:\n%s", r.errOut)
	}
}

func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, c := range utf16.Encode([]rune(strings.ReplaceAll(s, "\n", "\r\n"))) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

func TestWatchFolderJSONLWithRegistryExport(t *testing.T) {
	dir := t.TempDir()
	reg := "Windows Registry Editor Version 5.00\n\n" +
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core]` + "\n" +
		`"LicensingMode"=dword:00000004` + "\n\n" +
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\GracePeriod]` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "rcm.reg"), utf16LE(reg), 0o644); err != nil {
		t.Fatal(err)
	}
	recs := graceLog("RDSH02", 3)
	writeInPlace(t, filepath.Join(dir, "System.evtx"), encodeRecords(t, recs))
	r := startWatch(t, watchOptions{Path: dir, Format: "jsonl"})
	r.stop(t)
	sc := bufio.NewScanner(strings.NewReader(r.out.String()))
	var types []string
	for sc.Scan() {
		var rec struct {
			Type    string          `json:"type"`
			Change  string          `json:"change"`
			Finding *engine.Finding `json:"finding"`
			Config  map[string]struct {
				Mode           string `json:"mode"`
				GracePeriodKey bool   `json:"grace_period_key"`
			} `json:"config"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		types = append(types, rec.Type)
		// Every line follows the report schema: the finding in the json
		// report's shape, not engine.Finding's.
		if errs, err := report.Validate(rec.Type+"_line", sc.Bytes()); err != nil || len(errs) > 0 {
			t.Fatalf("line %s: %v %v", sc.Text(), err, errs)
		}
		// The export is tied to a host as scan ties it: by its file name
		// (rcm.reg → RCM), and as the only one it applies to every host.
		if c := rec.Config["RCM"]; len(rec.Config) != 1 || c.Mode != "per-user" || !c.GracePeriodKey {
			t.Fatalf("configuration not stated: %s", sc.Text())
		}
		if rec.Type == "finding" && rec.Finding != nil && rec.Finding.Rule == "no-license-server.config" {
			// per-user and no license server specified: the configuration rule's warning
			types[len(types)-1] = "config-finding"
			continue
		}
		if rec.Type == "finding" && (rec.Finding == nil || rec.Finding.ID != "grace-period-expiring" || rec.Change != "new" || rec.Finding.Count != 3) {
			t.Fatalf("finding line: %s", sc.Text())
		}
	}
	sort.Strings(types[1:]) // the incidents' order follows their scores
	if strings.Join(types, ",") != "config,config-finding,finding" {
		t.Fatalf("line types %v:\n%s", types, r.out)
	}
}

func TestWatchBadInput(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"watch", filepath.Join(t.TempDir(), "missing.evtx")}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "missing.evtx") {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	code = run([]string{"watch", "--format", "xml", t.TempDir()}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "--format") {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "broken.reg"), []byte("Windows Registry Editor Version 5.00\n[HKLM\\X]\n\"A\"=dword:zz\n"), 0o644)
	errOut.Reset()
	code = run([]string{"watch", dir}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "broken.reg: line 3") {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
}

func TestLiveOffWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("live runs on Windows")
	}
	var out, errOut bytes.Buffer
	code := run([]string{"live", "--backfill", "7d"}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "tsdiag watch PATH") {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	// json is scan's name for the format live calls jsonl: accepted (the
	// run gets as far as the platform check), while xml is refused.
	errOut.Reset()
	code = run([]string{"live", "--format", "json", "--backfill", "7d"}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "tsdiag watch PATH") || strings.Contains(errOut.String(), "--format") {
		t.Fatalf("--format json: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	code = run([]string{"live", "--format", "xml"}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), `--format "xml": use text or jsonl`) {
		t.Fatalf("--format xml: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	code = run([]string{"live", "--backfill", "soon"}, &out, &errOut)
	if code != exitError || !strings.Contains(errOut.String(), "--backfill") {
		t.Fatalf("bad backfill: exit %d, stderr %q", code, errOut.String())
	}
}

func TestFindingPrinterAndEventIDs(t *testing.T) {
	var b bytes.Buffer
	p := newFindingPrinter(&b, "text", nil)
	p.clock = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	var sunk []string
	var lines []string
	p.sink = func(f engine.Finding, line string, js []byte) {
		var rec struct{ Change string }
		if err := json.Unmarshal(js, &rec); err != nil {
			t.Fatal(err)
		}
		sunk, lines = append(sunk, rec.Change+" "+f.ID), append(lines, line)
	}
	items := func(fs ...engine.Finding) []tsdiag.Item {
		var out []tsdiag.Item
		for _, f := range fs {
			out = append(out, tsdiag.Item{Finding: f})
		}
		return out
	}
	f := engine.Finding{ID: "cal-pool-exhausted", Rule: "cal-pool-exhausted", Severity: "high", Count: 1,
		Group: map[string]string{"license_server": "LS01"}, Host: "LS01", Facts: map[string]any{"cal_type": "Per Device"}, Title: "No CALs left"}
	p.update(items(f))
	p.update(items(f))
	f.Count = 2
	other := f
	other.Group = map[string]string{"license_server": "LS02"}
	p.update(items(f, other))
	// Another rule of the same diagnosis now carries the finding: an update.
	other.Rule = "cal-pool-exhausted.after-refusals"
	p.update(items(f, other))
	want := []string{"new cal-pool-exhausted", "updated cal-pool-exhausted", "new cal-pool-exhausted", "updated cal-pool-exhausted"}
	if strings.Join(sunk, "|") != strings.Join(want, "|") {
		t.Fatalf("changes %v", sunk)
	}
	first := strings.Split(b.String(), "\n")[0]
	if first != "2026-01-01T00:00:00Z NEW     high     cal-pool-exhausted license_server=LS01 count=1 last=0001-01-01T00:00:00Z cal_type=Per Device — No CALs left" {
		t.Fatalf("line %q", first)
	}
	for sev, want := range map[string]uint32{"critical": 500, "high": 400, "medium": 300, "low": 200, "info": 100} {
		if id, _ := eventLogID(sev); id != want {
			t.Errorf("%s -> %d", sev, id)
		}
	}
}
