package watch_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/watch"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

var start = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// serverLog is a 2019 session host's System log: service-control noise
// every few minutes and, from day 0, one grace countdown warning a day. It
// spans several 64 KiB chunks.
func serverLog(host string, noise, days int, firstID uint64, t0 time.Time) []writer.Record {
	var recs []writer.Record
	step := time.Duration(days) * 24 * time.Hour / time.Duration(noise)
	day := 0
	for i := 0; i < noise; i++ {
		t := t0.Add(time.Duration(i) * step)
		for day < days && !t0.Add(time.Duration(day)*24*time.Hour).After(t) {
			recs = append(recs, writer.Record{
				Provider: rcm, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 50281, Level: 3,
				TimeCreated: t0.Add(time.Duration(day)*24*time.Hour + 3*time.Hour + time.Duration(i)*time.Millisecond),
				Channel:     "System", Computer: host,
				Payload: writer.EventXML(writer.String(t0.AddDate(0, 0, 14).Format("1/2/2006"))),
			})
			day++
		}
		recs = append(recs, writer.Record{
			Provider: "Service Control Manager", ProviderGUID: "{555908D1-A6D7-4695-8E1E-26931D2012F4}",
			EventSourceName: "Service Control Manager", EventID: 7036, Qualifiers: 16384, Level: 4,
			TimeCreated: t, Channel: "System", Computer: host,
			Payload: writer.NamedData("param1", writer.String(fmt.Sprintf("Windows Modules Installer %d", i)), "param2", writer.String("running")),
		})
	}
	for i := range recs {
		recs[i].RecordID = firstID + uint64(i)
	}
	return recs
}

func encode(t testing.TB, recs []writer.Record) []byte {
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

// growTo rewrites the file in place the way the event log does: the header
// and the last chunk change, new chunks are appended; nothing is truncated.
func growTo(t *testing.T, path string, content []byte) {
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

func countdownIDs(recs []writer.Record) []uint64 {
	var ids []uint64
	for _, r := range recs {
		if r.EventID == 50281 {
			ids = append(ids, r.RecordID)
		}
	}
	return ids
}

func onlyRCM(provider string, id uint16) bool { return provider == rcm }

// follower runs watch.Follow in the background and lets a test step it:
// after each change, wait until two more polls have completed, so at least
// one whole poll started after the change. Polls are counted, never timed.
type follower struct {
	mu      sync.Mutex
	got     []*evtx.Event
	notes   []watch.Note
	polls   int
	poll    chan int
	cancel  context.CancelFunc
	done    chan error
	gate    sync.Mutex // held by change: the poll loop waits at it
	waiting bool       // the poll loop is blocked on gate (set under mu)
}

func follow(t *testing.T, path string, opts watch.Options) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{poll: make(chan int, 1), cancel: cancel, done: make(chan error, 1)}
	opts.Interval = 5 * time.Millisecond
	opts.OnNote = func(n watch.Note) { f.mu.Lock(); f.notes = append(f.notes, n); f.mu.Unlock() }
	opts.OnPoll = func(n int) {
		f.mu.Lock()
		f.polls = n
		f.mu.Unlock()
		select {
		case f.poll <- n:
		default:
		}
		f.setWaiting(true)
		f.gate.Lock()
		f.setWaiting(false) // before Unlock: seen true by a gate holder only while blocked
		f.gate.Unlock()
	}
	go func() {
		f.done <- watch.Follow(ctx, path, opts, func(evs []*evtx.Event) error {
			f.mu.Lock()
			f.got = append(f.got, evs...)
			f.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() { f.stop(t) })
	f.settle(t)
	return f
}

func (f *follower) settle(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	target := f.polls + 2
	f.mu.Unlock()
	deadline := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		n := f.polls
		f.mu.Unlock()
		if n >= target {
			return
		}
		select {
		case <-f.poll:
		case err := <-f.done:
			t.Fatalf("watch ended early: %v", err)
		case <-deadline:
			t.Fatal("watch did not poll within 10s")
		}
	}
}

func (f *follower) setWaiting(v bool) {
	f.mu.Lock()
	f.waiting = v
	f.mu.Unlock()
}

// change runs write while the poll loop is parked between polls, so no
// poll sees a file half written (a 5 ms poll otherwise can, and rightly
// reports an empty or damaged file, which is not what these tests check).
func (f *follower) change(t *testing.T, write func()) {
	t.Helper()
	f.gate.Lock()
	defer f.gate.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		parked := f.waiting
		f.mu.Unlock()
		if parked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("watch did not reach the end of a poll within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	write()
}

func (f *follower) stop(t *testing.T) {
	if f.cancel == nil {
		return
	}
	f.cancel()
	f.cancel = nil
	select {
	case err := <-f.done:
		if err != nil {
			t.Errorf("watch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("watch did not stop within 10s of cancel")
	}
}

// take returns the events delivered since the last take.
func (f *follower) take() []*evtx.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.got
	f.got = nil
	return out
}

func (f *follower) noteKinds() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var k []string
	for _, n := range f.notes {
		k = append(k, n.Kind)
	}
	f.notes = nil
	return strings.Join(k, ",")
}

func ids(evs []*evtx.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.RecordID
	}
	return out
}

func sameIDs(t *testing.T, what string, got []*evtx.Event, want []uint64) {
	t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("%s: delivered record ids %v, want %v", what, ids(got), want)
	}
}

func TestFollowGrowingFile(t *testing.T) {
	recs := serverLog("RDSH01.contoso.com", 3000, 12, 1, start)
	full := encode(t, recs)
	if len(full) < 4096+3*65536 {
		t.Fatalf("test log too small to span chunks: %d bytes", len(full))
	}
	path := filepath.Join(t.TempDir(), "System.evtx")
	// Stages: record counts that land mid-chunk and past chunk ends, so the
	// last chunk grows in place (same file size) as well as new chunks.
	stages := []int{40, 41, 700, 701, 1500, len(recs)}
	growTo(t, path, encode(t, recs[:stages[0]]))
	f := follow(t, path, watch.Options{Filter: onlyRCM})
	sameIDs(t, "initial", f.take(), countdownIDs(recs[:stages[0]]))
	if k := f.noteKinds(); k != "new" {
		t.Fatalf("notes %q, want new", k)
	}
	for i := 1; i < len(stages); i++ {
		before := stages[i-1]
		f.change(t, func() { growTo(t, path, encode(t, recs[:stages[i]])) })
		f.settle(t)
		got := f.take()
		sameIDs(t, fmt.Sprintf("stage %d", i), got, countdownIDs(recs[before:stages[i]]))
		checkOffsets(t, path, got)
	}
	// Nothing changes: nothing is delivered again.
	f.settle(t)
	sameIDs(t, "idle", f.take(), nil)
	if k := f.noteKinds(); k != "" {
		t.Fatalf("unexpected notes %q", k)
	}
	f.stop(t)
}

// checkOffsets reads each event's record header at its Offset in the file:
// the record signature and the record id must be there (evidence points
// at the right bytes even when only some chunks were decoded).
func checkOffsets(t *testing.T, path string, evs []*evtx.Event) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, ev := range evs {
		var h [16]byte
		if _, err := f.ReadAt(h[:], ev.Offset); err != nil {
			t.Fatal(err)
		}
		if string(h[:4]) != "**\x00\x00" || binary.LittleEndian.Uint64(h[8:]) != ev.RecordID {
			t.Fatalf("record %d: offset %d holds % x", ev.RecordID, ev.Offset, h)
		}
	}
}

// TestFollowWrappedLog: a full log that wraps overwrites its oldest chunk
// with the newest records; the file keeps its size. Only that chunk is
// decoded and its records delivered.
func TestFollowWrappedLog(t *testing.T) {
	recs := serverLog("RDSH01", 3000, 12, 1, start)
	small := encode(t, recs[:1500])
	n := (len(small) - 4096) / 65536
	big := encode(t, recs)
	nb := (len(big) - 4096) / 65536
	path := filepath.Join(t.TempDir(), "System.evtx")
	growTo(t, path, small)
	f := follow(t, path, watch.Options{Filter: onlyRCM})
	sameIDs(t, "initial", f.take(), countdownIDs(recs[:1500]))
	// Chunk 0 now holds the newest chunk of the longer log.
	wrapped := append([]byte{}, small...)
	copy(wrapped[:4096], big[:4096])
	// A chunk of records newer than any in the file, holding a countdown.
	var newest []byte
	var want []uint64
	for j := n; j < nb && len(want) == 0; j++ {
		newest = big[4096+j*65536 : 4096+(j+1)*65536]
		for _, id := range countdownIDs(recs) {
			if id > recs[1499].RecordID && inChunk(newest, id) {
				want = append(want, id)
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("test setup: no newer chunk of %d holds a countdown (n=%d)", nb, n)
	}
	copy(wrapped[4096:4096+65536], newest)
	f.change(t, func() { growTo(t, path, wrapped) })
	f.settle(t)
	got := f.take()
	sameIDs(t, "after wrap", got, want)
	checkOffsets(t, path, got)
}

// inChunk reports whether a record id lies in chunk (first/last record
// numbers of the chunk header at offsets 8 and 16).
func inChunk(chunk []byte, id uint64) bool {
	first, last := binary.LittleEndian.Uint64(chunk[8:]), binary.LittleEndian.Uint64(chunk[16:])
	return id >= first && id <= last
}

func TestFollowClearedReplacedAndSkipExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "System.evtx")
	first := serverLog("RDSH01", 600, 5, 1, start)
	growTo(t, path, encode(t, first))
	f := follow(t, path, watch.Options{Filter: onlyRCM, SkipExisting: true})
	sameIDs(t, "skip existing", f.take(), nil)
	f.noteKinds()

	// Cleared: the log starts again at record 1, later in time, and is
	// shorter (the file shrinks).
	cleared := serverLog("RDSH01", 200, 3, 1, start.AddDate(0, 0, 10))
	f.change(t, func() {
		if err := os.WriteFile(path, encode(t, cleared), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	f.settle(t)
	sameIDs(t, "after clear", f.take(), countdownIDs(cleared))
	if k := f.noteKinds(); !strings.Contains(k, "cleared") {
		t.Fatalf("notes %q, want cleared", k)
	}

	// Replaced: a fresh copy (new inode) holding the same records plus more.
	more := serverLog("RDSH01", 400, 6, 1, start.AddDate(0, 0, 10))
	for i := range more[:len(cleared)] {
		more[i] = cleared[i]
	}
	tmp := filepath.Join(dir, "copy.tmp")
	if err := os.WriteFile(tmp, encode(t, more), 0o644); err != nil {
		t.Fatal(err)
	}
	f.change(t, func() {
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	})
	f.settle(t)
	sameIDs(t, "after replace", f.take(), countdownIDs(more[len(cleared):]))
	if k := f.noteKinds(); !strings.Contains(k, "replaced") {
		t.Fatalf("notes %q, want replaced", k)
	}
}

// A log replaced by another whose record ids start again and whose events
// are no newer (a copy of another period, another server's log under the
// same name) is said to be replaced, and its events are delivered: before,
// the record-id bookkeeping of the old log dropped them without a word.
func TestFollowReplacedByAnotherLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "System.evtx")
	growTo(t, path, encode(t, serverLog("RDSH01", 900, 8, 1, start)))
	f := follow(t, path, watch.Options{Filter: onlyRCM})
	f.take()
	f.noteKinds()

	other := serverLog("RDSH01", 300, 4, 1, start.AddDate(0, 0, -30))
	tmp := filepath.Join(dir, "other.tmp")
	if err := os.WriteFile(tmp, encode(t, other), 0o644); err != nil {
		t.Fatal(err)
	}
	f.change(t, func() {
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	})
	f.settle(t)
	sameIDs(t, "after replace", f.take(), countdownIDs(other))
	f.mu.Lock()
	defer f.mu.Unlock()
	var said string
	for _, n := range f.notes {
		if n.Kind == "replaced" {
			said = n.String()
		}
	}
	if !strings.Contains(said, "replaced by another log: record ids start again") || strings.Count(said, path) != 1 {
		t.Fatalf("notes %v, want one naming the file once and saying the ids start again", f.notes)
	}
}

func TestFollowFolderRotation(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "System.evtx")
	recs := serverLog("RDSH01", 1200, 10, 1, start)
	half := len(recs) / 2
	growTo(t, live, encode(t, recs[:half]))
	// Another host's log in the same folder: its own record numbering.
	other := serverLog("RDSH02", 300, 4, 1, start)
	growTo(t, filepath.Join(dir, "RDSH02-System.evtx"), encode(t, other))
	f := follow(t, dir, watch.Options{Filter: onlyRCM})
	got := f.take()
	if len(got) != len(countdownIDs(recs[:half]))+len(countdownIDs(other)) {
		t.Fatalf("initial: %d events, want %d", len(got), len(countdownIDs(recs[:half]))+len(countdownIDs(other)))
	}
	for i := 1; i < len(got); i++ {
		if got[i].TimeCreated.Before(got[i-1].TimeCreated) {
			t.Fatalf("batch not in time order at %d", i)
		}
	}

	// Rotation: the log is archived under a new name and a new log continues
	// the numbering.
	archive := filepath.Join(dir, "Archive-System-2024-03-06-00-00-00-000.evtx")
	f.change(t, func() {
		if err := os.Rename(live, archive); err != nil {
			t.Fatal(err)
		}
		growTo(t, live, encode(t, recs[half:]))
	})
	f.settle(t)
	sameIDs(t, "after rotation", f.take(), countdownIDs(recs[half:]))
	kinds := f.noteKinds()
	if !strings.Contains(kinds, "new") {
		t.Fatalf("notes %q: the archive and the new log should be reported", kinds)
	}
}

func TestNotEVTXIsReportedNotFatal(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "broken.evtx"), []byte("this is not an event log"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs := serverLog("RDSH01", 100, 2, 1, start)
	growTo(t, filepath.Join(dir, "System.evtx"), encode(t, recs))
	// A log whose writer has created it but not yet written a header.
	pending := filepath.Join(dir, "Pending.evtx")
	if err := os.WriteFile(pending, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f := follow(t, dir, watch.Options{Filter: onlyRCM})
	sameIDs(t, "good file", f.take(), countdownIDs(recs))
	f.settle(t)
	f.settle(t)
	reported := func(name string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, note := range f.notes {
			if note.Kind == "unreadable" && strings.HasSuffix(note.File, name) {
				n++
			}
		}
		return n
	}
	if reported("broken.evtx") != 1 || reported("Pending.evtx") != 1 {
		t.Fatalf("each unreadable file should be reported once over several polls: %v", f.notes)
	}
	// The pending log gets its content: it is read and followed.
	late := serverLog("RDSH03", 100, 2, 1, start)
	f.change(t, func() { growTo(t, pending, encode(t, late)) })
	f.settle(t)
	sameIDs(t, "pending log written", f.take(), countdownIDs(late))
}

func TestMissingPath(t *testing.T) {
	err := watch.Follow(context.Background(), filepath.Join(t.TempDir(), "nope.evtx"), watch.Options{}, nil)
	if err == nil || !strings.Contains(err.Error(), "nope.evtx") {
		t.Fatalf("error %v", err)
	}
}
