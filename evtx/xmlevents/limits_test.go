package xmlevents

import (
	"fmt"
	"strings"
	"testing"
)

// licensing is a real RCM 1003 (a client presented an invalid license),
// the event the wide and deep cases hide behind them.
func licensing(i int) string {
	return fmt.Sprintf(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>`+
		`<Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager' Guid='{C76BAA63-AE81-421C-B425-340B4B24157F}'/>`+
		`<EventID>1003</EventID><Level>2</Level><TimeCreated SystemTime='2024-03-01T10:%02d:00.000000Z'/>`+
		`<EventRecordID>%d</EventRecordID><Channel>System</Channel><Computer>RDSH01</Computer></System>`+
		"<EventData><Data Name='param1'>WS-%02d</Data></EventData></Event>\r\n", i, 100+i, i)
}

func withLicensing(hostile string, n int) []byte {
	var b strings.Builder
	b.WriteString("<Events>\r\n" + hostile + "\r\n")
	for i := range n {
		b.WriteString(licensing(i))
	}
	b.WriteString("</Events>")
	return []byte(b.String())
}

// checkRefused asserts one damaged record naming the file, the line and the
// reason, and every licensing event after it read in order.
func checkRefused(t *testing.T, data []byte, opts Options, reason string, n int) {
	t.Helper()
	evs, st := decodeAll(t, data, opts)
	if st.DamagedRecords != 1 || len(st.Damages) != 1 {
		t.Fatalf("want one damaged record, got %d: %+v", st.DamagedRecords, st.Damages)
	}
	d := st.Damages[0]
	if d.File != "test.xml" || d.Kind != "record" || !strings.Contains(d.Reason, "line 2: ") || !strings.Contains(d.Reason, reason) || d.Offset <= 0 {
		t.Fatalf("damage %+v, want test.xml, line 2, %q", d, reason)
	}
	if len(evs) != n || st.Records != n {
		t.Fatalf("%d events read (stats %d), want the %d after the refused one", len(evs), st.Records, n)
	}
	for i, e := range evs {
		if e.EventID != 1003 || e.Param(1) != fmt.Sprintf("WS-%02d", i) || e.File != "test.xml" {
			t.Fatalf("event %d: id %d param %q file %q", i, e.EventID, e.Param(1), e.File)
		}
	}
}

// An event of many small children passes the byte limit; the element limit
// refuses it while it streams and the read resumes at the next event.
func TestElementLimit(t *testing.T) {
	wide := "<Event><System><Provider Name='x'/></System><EventData>" + strings.Repeat("<a/>", 3*DefaultMaxElements) + "</EventData></Event>"
	checkRefused(t, withLicensing(wide, 20), Options{}, fmt.Sprintf("more than %d elements and attributes", DefaultMaxElements), 20)

	// Attributes count too: one element can carry any number of them.
	var attrs strings.Builder
	for i := range 2 * DefaultMaxElements {
		fmt.Fprintf(&attrs, " a%d='x'", i)
	}
	checkRefused(t, withLicensing("<Event><System"+attrs.String()+"/></Event>", 5), Options{}, "elements and attributes", 5)

	// A smaller limit is honoured, and an event at it still reads.
	at := "<Event><System><Provider Name='x'/></System></Event>" // 3 elements + 1 attribute
	evs, st := decodeAll(t, withLicensing(at, 0), Options{MaxElements: 4})
	if len(evs) != 1 || st.DamagedRecords != 0 {
		t.Fatalf("event at the limit: %d events, %+v", len(evs), st.Damages)
	}
	checkRefused(t, withLicensing(at, 0), Options{MaxElements: 3}, "more than 3 elements", 0)
}

// A very deep event is refused at MaxDepth and skipped as bytes: the events
// after it are read, whatever the depth.
func TestDeepEventSkipped(t *testing.T) {
	deep := "<Event><System>" + strings.Repeat("<a>", 300000) + strings.Repeat("</a>", 300000) + "</System></Event>"
	checkRefused(t, withLicensing(deep, 20), Options{}, "nested deeper than 64", 20)
	// Cut short inside the nesting: the event is damage and no event is
	// invented after it.
	evs, st := decodeAll(t, []byte("<Events>\r\n"+licensing(0)+"<Event>"+strings.Repeat("<a>", 1000)), Options{})
	if len(evs) != 1 || st.DamagedRecords != 1 {
		t.Fatalf("cut-short deep event: %d events, %+v", len(evs), st.Damages)
	}
}

// Trap: a big but honest event (hundreds of Data, a 1 MiB value, text in
// several tokens) is not refused and reads unchanged, and so do the events
// after it (the decoder is replaced after a big event).
func TestBigHonestEvent(t *testing.T) {
	big := strings.Repeat("C", 1<<20)
	var b strings.Builder
	b.WriteString(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager'/>` +
		"<EventID>1003</EventID><EventRecordID>7</EventRecordID><Computer>RDSH01</Computer></System><EventData>")
	b.WriteString("<Data Name='param1'>" + big + "</Data>")
	b.WriteString("<Data Name='param2'>a &amp; b<![CDATA[ <c> ]]>d</Data>")
	for i := 3; i <= 400; i++ {
		fmt.Fprintf(&b, "<Data Name='param%d'>v%d</Data>", i, i)
	}
	b.WriteString("</EventData></Event>")
	evs, st := decodeAll(t, withLicensing(b.String(), 3), Options{})
	if st.DamagedRecords != 0 || len(st.Damages) != 0 || len(evs) != 4 {
		t.Fatalf("%d events, damage %+v", len(evs), st.Damages)
	}
	e := evs[0]
	if len(e.Params) != 400 || e.Param(1) != big || e.Param(2) != "a & b <c> d" || e.Data["param400"] != "v400" {
		t.Fatalf("big event changed: %d params, param1 %d bytes, param2 %q", len(e.Params), len(e.Param(1)), e.Param(2))
	}
	for i, e := range evs[1:] {
		if e.Param(1) != fmt.Sprintf("WS-%02d", i) || e.RecordID != uint64(100+i) {
			t.Fatalf("event %d after the big one: %q %d", i, e.Param(1), e.RecordID)
		}
	}
}

// An <Event> inside a refused event is read on its own; the refused
// event's end tags are damage and do not end the read of the file.
func TestNestedEventInRefused(t *testing.T) {
	hostile := "<Event><EventData>" + strings.Repeat("<a/>", 2*DefaultMaxElements) + "\r\n" + licensing(99) + "</EventData></Event>"
	evs, st := decodeAll(t, withLicensing(hostile, 3), Options{})
	if st.DamagedRecords != 1 || len(st.Damages) != 2 {
		t.Fatalf("want the refused record and its stray end tags as damage: %d, %+v", st.DamagedRecords, st.Damages)
	}
	if len(evs) != 4 || evs[0].Param(1) != "WS-99" || evs[3].Param(1) != "WS-02" {
		t.Fatalf("%d events read, want the nested one and the 3 after", len(evs))
	}
}
