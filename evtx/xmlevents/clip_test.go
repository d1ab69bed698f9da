package xmlevents

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

func clipAll(t *testing.T, in string, max int) string {
	t.Helper()
	out, err := io.ReadAll(newClipper(strings.NewReader(in), max))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The cut never splits an entity reference or a UTF-8 sequence, and what
// ends the value (a tag, a quote) survives it.
func TestClipBoundaries(t *testing.T) {
	m := marker(8)
	for _, c := range []struct{ in, want string }{
		{"<D>aaaaaa&amp;bbbbbbbb</D>", "<D>aaaaaa&amp;" + m + "</D>"},
		{"<D>aaaaaaaébbbb</D>", "<D>aaaaaaaé" + m + "</D>"},
		{"<D a='0123456789' b=\"x\">t</D>", "<D a='01234567" + m + "' b=\"x\">t</D>"},
		{"<D a=\"it's 0123456789\"/>", "<D a=\"it's 012" + m + "\"/>"},
		{"<D>01234567</D>", "<D>01234567</D>"}, // exactly the limit: kept whole
		{"<D>0123456789", "<D>01234567" + m},   // cut up to the end of the input
	} {
		if got := clipAll(t, c.in, 8); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// Trap: markup that looks like values (quotes and '>' in a comment, a
// processing instruction, a directive, a long CDATA section) passes
// through unchanged, and so do the values after it.
func TestClipLeavesMarkupAlone(t *testing.T) {
	in := "<?xml version='1.0' encoding='utf-8'?><!DOCTYPE x><!-- it's a -> \"test\" --->" +
		"<E><![CDATA[ 0123456789 ' \" > ]]]><D n='12345678'>12345678</D><!---->x</E>"
	if got := clipAll(t, in, 8); got != in {
		t.Fatalf("changed:\n got %q\nwant %q", got, in)
	}
}

// hugeValueExport is an export whose second event (line 2) carries a text
// and an attribute value of n bytes, with licensing events after it.
func hugeValueExport(n int) []byte {
	v := strings.Repeat("C", n)
	hostile := "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>" +
		"<Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'/><EventID>1003</EventID>" +
		"<EventRecordID>1</EventRecordID><Computer>RDSH01</Computer></System><EventData>" +
		"<Data Name='param1'>" + v + "\n" + v + "</Data><Data Name='param2' x='" + v + "'>after</Data></EventData></Event>"
	return withLicensing(licensing(98)+hostile+"\r\n<Event><bad></Event>", 5)
}

// A value over the limit is cut, the cut is recorded as damage where the
// event starts, and everything after it reads as it would uncut: the same
// events at the same offsets, later damage at the same line.
func TestValueCut(t *testing.T) {
	const n = 3 << 20
	data := hugeValueExport(n)
	cut, cst := decodeAll(t, data, Options{})
	whole, wst := decodeAll(t, data, Options{MaxValue: 16 << 20})
	if len(cut) != 7 || len(whole) != 7 {
		t.Fatalf("%d and %d events, want 7", len(cut), len(whole))
	}
	e := cut[1]
	want := strings.Repeat("C", DefaultMaxValue) + marker(DefaultMaxValue)
	if e.Param(1) != want || e.Param(2) != "after" || e.RecordID != 1 {
		t.Fatalf("cut event: param1 %d bytes, param2 %q", len(e.Param(1)), e.Param(2))
	}
	if len(whole[1].Param(1)) != 2*n+1 {
		t.Fatalf("uncut param1 is %d bytes", len(whole[1].Param(1)))
	}
	for i := range cut {
		if cut[i].Offset != whole[i].Offset || cut[i].RecordID != whole[i].RecordID {
			t.Fatalf("event %d at %d (record %d) cut, %d (record %d) whole", i, cut[i].Offset, cut[i].RecordID, whole[i].Offset, whole[i].RecordID)
		}
	}
	if len(cst.Damages) != 2 || len(wst.Damages) != 1 || cst.DamagedRecords != 1 {
		t.Fatalf("damage cut %+v, whole %+v", cst.Damages, wst.Damages)
	}
	d := cst.Damages[0]
	wantReason := fmt.Sprintf("line 3: 2 value(s) over %d bytes cut to their first %d bytes", DefaultMaxValue, DefaultMaxValue)
	if d.Kind != "record" || d.Offset != cut[1].Offset || d.Reason != wantReason {
		t.Fatalf("cut damage %+v, want %q at %d", d, wantReason, cut[1].Offset)
	}
	if cst.Damages[1] != wst.Damages[0] {
		t.Fatalf("damage after the cut %+v, uncut %+v", cst.Damages[1], wst.Damages[0])
	}
}

// A 15 MiB event of two huge values (10 MiB of text, a 5 MiB attribute)
// costs what the limit allows, not the values several times over:
// encoding/xml's buffer, grown by doubling, and the values' strings.
func TestValueCutBoundsAllocation(t *testing.T) {
	data := hugeValueExport(5 << 20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, err := Decode(bytes.NewReader(data), "test.xml", Options{}, func(*evtx.Event) error { return nil })
	runtime.ReadMemStats(&after)
	if err != nil || st.Records != 7 {
		t.Fatalf("err %v, %d records", err, st.Records)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Fatalf("decoding allocated %.1f MB", float64(got)/(1<<20))
	}
}

// Reading through the clipper is the identity on any input without a value
// over the limit.
func FuzzClipIdentity(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("<a b='&amp;'><!-- ' --><![CDATA[ ' ]]><?p ' ?>t</a>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := io.ReadAll(newClipper(bytes.NewReader(b), len(b)+1))
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("changed %q to %q (%v)", b, out, err)
		}
	})
}
