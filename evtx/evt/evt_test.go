package evt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
)

var t0 = time.Date(2006, 3, 14, 9, 30, 0, 0, time.UTC)

// termService returns n TermService-era records: grace-period countdown
// warnings (1009, naming the expiry date) and the expiry itself (1008), with
// a varying payload size.
func termService(n int) []evtenc.Record {
	var recs []evtenc.Record
	for i := 0; i < n; i++ {
		r := evtenc.Record{
			Time:     t0.Add(time.Duration(i) * time.Hour),
			EventID:  0x800003F1, // 1009 with warning qualifiers 0x8000
			Type:     evtenc.Warning,
			Source:   "TermService",
			Computer: "TS2003",
			Strings:  []string{fmt.Sprintf("3/%d/2006", 14+i%14), strings.Repeat("x", i%7)},
		}
		if i%5 == 4 {
			r.EventID, r.Type = 0xC00003F0, evtenc.Error // 1008
			r.Strings = []string{"", "grace period expired"}
			r.UserSID = "S-1-5-18"
			r.Data = []byte{0xde, 0xad, 0xbe, 0xef, byte(i)}
		}
		recs = append(recs, r)
	}
	return recs
}

func decodeAll(t *testing.T, b []byte, name string, opts Options) ([]*evtx.Event, evtx.Stats) {
	t.Helper()
	var evs []*evtx.Event
	st, err := DecodeReaderAt(bytes.NewReader(b), int64(len(b)), name, opts, func(e *evtx.Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return evs, st
}

func checkEvent(t *testing.T, got *evtx.Event, want evtenc.Record, number uint32) {
	t.Helper()
	if got.Provider != want.Source || got.Computer != want.Computer || got.RecordID != uint64(number) ||
		got.EventID != uint16(want.EventID) || got.Qualifiers != uint16(want.EventID>>16) ||
		!got.TimeCreated.Equal(want.Time) || got.UserSID != want.UserSID || got.Channel != "System" ||
		got.Task != want.Category {
		t.Fatalf("record %d: got %+v, want %+v", number, got, want)
	}
	params := got.Params
	if len(params) == 0 {
		params = nil
	}
	if !reflect.DeepEqual(params, want.Strings) {
		t.Fatalf("record %d params: got %q, want %q", number, got.Params, want.Strings)
	}
	if got.Tree == nil {
		t.Fatalf("record %d: no tree", number)
	}
}

func TestRoundTrip(t *testing.T) {
	recs := termService(20)
	recs[3].Strings = []string{"ünïcødé 😀", "", "third"}
	b, err := evtenc.Encode(recs, evtenc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	evs, st := decodeAll(t, b, "SysEvent.Evt", Options{})
	if len(evs) != len(recs) || st.Records != len(recs) || st.DamagedRecords != 0 || len(st.Damages) != 0 {
		t.Fatalf("got %d events, stats %+v", len(evs), st)
	}
	for i, e := range evs {
		checkEvent(t, e, recs[i], uint32(i+1))
	}
	if e := evs[4]; e.EventID != 1008 || e.Qualifiers != 0xC000 || e.Level != 2 || e.Param(2) != "grace period expired" || e.Param(1) != "" {
		t.Fatalf("1008 decoded as %+v", e)
	}
	if evs[0].Level != 3 || evs[0].Keywords != keywordClassic {
		t.Fatalf("warning level/keywords: %d %#x", evs[0].Level, evs[0].Keywords)
	}
	if bin := child(evs[4].Tree, "EventData", "Binary"); bin == nil || bin.Text != "DEADBEEF04" {
		t.Fatalf("binary data node: %+v", bin)
	}
}

func child(n *evtx.Node, path ...string) *evtx.Node {
	for _, p := range path {
		var next *evtx.Node
		for _, c := range n.Children {
			if c.Name == p {
				next = c
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// TestWrapped writes many more records than fit, so the buffer wraps and
// (for some sizes) a record is split across the end of the file.
func TestWrapped(t *testing.T) {
	recs := termService(200)
	for _, dirty := range []bool{false, true} {
		split := 0
		for size := 4096; size < 4096+400; size += 4 {
			b, err := evtenc.Encode(recs, evtenc.Options{MaxSize: size, Dirty: dirty})
			if err != nil {
				t.Fatal(err)
			}
			h := parseHeader(b)
			if h.flags&flagWrapped == 0 {
				t.Fatalf("size %d: not wrapped", size)
			}
			evs, st := decodeAll(t, b, "SysEvent.Evt", Options{})
			if len(st.Damages) != 0 || len(evs) < 10 {
				t.Fatalf("size %d dirty %v: %d events, damages %+v", size, dirty, len(evs), st.Damages)
			}
			first := int(evs[0].RecordID)
			if last := evs[len(evs)-1].RecordID; last != 200 {
				t.Fatalf("size %d: newest record %d, want 200", size, last)
			}
			for i, e := range evs {
				checkEvent(t, e, recs[first-1+i], uint32(first+i))
				if e.Offset+int64(binary.LittleEndian.Uint32(b[e.Offset:])) > int64(len(b)) {
					split++
				}
			}
		}
		if split == 0 {
			t.Fatalf("no size produced a record split across the end of the buffer")
		}
	}
}

func TestTruncated(t *testing.T) {
	recs := termService(30)
	b, _ := evtenc.Encode(recs, evtenc.Options{})
	for cut := headerSize + 10; cut < len(b); cut += 37 {
		evs, st := decodeAll(t, b[:cut], "SysEvent.Evt", Options{})
		if len(st.Damages) == 0 {
			t.Fatalf("cut at %d: no damage reported", cut)
		}
		for i, e := range evs {
			checkEvent(t, e, recs[i], uint32(i+1))
		}
		// Every record wholly inside the cut is read.
		whole := 0
		for off := headerSize; ; whole++ {
			n := int(binary.LittleEndian.Uint32(b[off:]))
			if n == eofRecordSize || off+n > cut {
				break
			}
			off += n
		}
		if len(evs) != whole {
			t.Fatalf("cut at %d: %d events, want %d", cut, len(evs), whole)
		}
	}
}

func TestCorruptRecord(t *testing.T) {
	recs := termService(10)
	b, _ := evtenc.Encode(recs, evtenc.Options{})
	off := headerSize
	for i := 0; i < 4; i++ {
		off += int(binary.LittleEndian.Uint32(b[off:]))
	}
	copy(b[off+4:], "XXXX") // record 5 loses its signature
	evs, st := decodeAll(t, b, "x.evt", Options{Channel: "System"})
	if len(evs) != 9 || st.DamagedRecords != 1 || len(st.Damages) != 1 || st.Damages[0].Offset != int64(off) {
		t.Fatalf("got %d events, stats %+v", len(evs), st)
	}
	if evs[4].RecordID != 6 {
		t.Fatalf("record after the damaged one: %d", evs[4].RecordID)
	}
}

func TestFilter(t *testing.T) {
	b, _ := evtenc.Encode(termService(20), evtenc.Options{})
	evs, st := decodeAll(t, b, "SysEvent.Evt", Options{Filter: func(p string, id uint16) bool {
		return p == "TermService" && id == 1008
	}})
	if len(evs) != 4 || st.Records != 20 || st.Matched != 4 {
		t.Fatalf("%d events, stats %+v", len(evs), st)
	}
}

func TestNotEVT(t *testing.T) {
	_, err := DecodeReaderAt(strings.NewReader("ElfFile\x00"), 8, "x.evtx", Options{}, nil)
	if !errors.Is(err, ErrNotEVT) || !strings.Contains(err.Error(), "x.evtx") {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeStreamAndFile(t *testing.T) {
	recs := termService(15)
	b, _ := evtenc.Encode(recs, evtenc.Options{MaxSize: 2048})
	path := filepath.Join(t.TempDir(), "AppEvent.Evt")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var a, c []*evtx.Event
	if _, err := DecodeFile(path, Options{}, func(e *evtx.Event) error { a = append(a, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(bytes.NewReader(b), path, Options{}, func(e *evtx.Event) error { c = append(c, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(a) == 0 || !reflect.DeepEqual(a, c) || a[0].Channel != "Application" {
		t.Fatalf("file and stream differ or empty: %d vs %d", len(a), len(c))
	}
	_, err := Decode(bytes.NewReader(b), "big.evt", Options{MaxBytes: 100}, nil)
	if err == nil || !strings.Contains(err.Error(), "big.evt") {
		t.Fatalf("over-limit stream: %v", err)
	}
}

func TestChannelFromName(t *testing.T) {
	for name, want := range map[string]string{
		"SysEvent.Evt": "System", `C:\WINDOWS\system32\config\SecEvent.Evt`: "Security",
		"bundle.zip!logs/AppEvent.evt": "Application", "random.evt": "", "System.evt": "System",
	} {
		if got := ChannelFromName(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

func FuzzEVT(f *testing.F) {
	for _, opts := range []evtenc.Options{{}, {MaxSize: 1500}, {MaxSize: 1500, Dirty: true}} {
		b, _ := evtenc.Encode(termService(12), opts)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := DecodeReaderAt(bytes.NewReader(b), int64(len(b)), "fuzz.evt", Options{}, func(*evtx.Event) error { return nil })
		if err != nil && !errors.Is(err, ErrNotEVT) {
			t.Fatalf("unexpected error: %v", err)
		}
		if st.Records > len(b)/minRecordSize+1 {
			t.Fatalf("%d records from %d bytes", st.Records, len(b))
		}
	})
}

// TestTreeMatchesFields checks the XML shape built for each record
// normalizes (through the same function EVTX and XML input use) to the
// fields the decoder set, so a rule sees one event whatever the path.
func TestTreeMatchesFields(t *testing.T) {
	recs := termService(10)
	recs[2].Type = evtenc.AuditFailure
	recs[3].Category = 7
	b, _ := evtenc.Encode(recs, evtenc.Options{})
	evs, _ := decodeAll(t, b, "SecEvent.Evt", Options{})
	for _, e := range evs {
		n := evtx.EventFromTree(e.Tree)
		n.File, n.Offset = e.File, e.Offset
		if !reflect.DeepEqual(n, e) {
			t.Fatalf("record %d:\n fields %+v\n tree   %+v", e.RecordID, e, n)
		}
	}
}
