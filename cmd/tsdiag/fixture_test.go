package main

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// The scan tests run on logs this file writes: the project's EVTX encoder
// for binary files, and wevtutil-shaped XML exports of the same records.

const (
	fxTS  = "TermService"
	fxRCM = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	fxLIC = "Microsoft-Windows-TerminalServices-Licensing"
	fxSCM = "Service Control Manager"
	fxLSM = "Microsoft-Windows-TerminalServices-LocalSessionManager"
)

var fixtureBase = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

type fev struct {
	provider string
	id       uint16
	day, hr  int
	computer string
	params   []string
}

func fe(provider string, id uint16, day, hr int, computer string, params ...string) fev {
	return fev{provider, id, day, hr, computer, params}
}

// farmEvents is a 2019 farm with trouble: RDSH01 counts down its grace
// period, client WS-17 presents an invalid license on RDSH02, and RDSH02's
// certificate is invalid; background logons and service noise every day.
func farmEvents() []fev {
	hosts := []string{"RDSH01.contoso.com", "RDSH02.contoso.com"}
	var out []fev
	for d := 0; d < 6; d++ {
		for _, h := range hosts {
			out = append(out,
				fe(fxSCM, 7036, d, 1, h, "Windows Update", "running"),
				fe(fxRCM, 1149, d, 9, h, "alice", "CONTOSO", "10.0.0.15"),
				fe(fxLSM, 21, d, 9, h, `CONTOSO\alice`, "2", "10.0.0.15"),
			)
		}
	}
	for d := 2; d < 6; d++ {
		out = append(out, fe(fxRCM, 50281, d, 0, hosts[0], "3/15/2024"))
	}
	out = append(out,
		fe(fxRCM, 1003, 3, 9, hosts[1], "WS-17"),
		fe(fxRCM, 1003, 4, 10, hosts[1], "WS-17"),
		fe(fxRCM, 1133, 5, 8, hosts[1]),
	)
	return sortEvents(out)
}

// healthyEvents is background noise only.
func healthyEvents() []fev {
	var out []fev
	for d := 0; d < 3; d++ {
		out = append(out, fe(fxSCM, 7036, d, 1, "RDSH09", "Windows Update", "running"), fe(fxRCM, 1149, d, 9, "RDSH09", "bob", "CONTOSO", "10.0.0.9"))
	}
	return sortEvents(out)
}

func sortEvents(evs []fev) []fev {
	sort.SliceStable(evs, func(i, j int) bool {
		return evs[i].day*24+evs[i].hr < evs[j].day*24+evs[j].hr
	})
	return evs
}

func (x fev) when() time.Time {
	return fixtureBase.Add(time.Duration(x.day)*24*time.Hour + time.Duration(x.hr)*time.Hour)
}

// record shapes an event the way Windows Server 2019 writes it.
func (x fev) record(id uint64) writer.Record {
	r := writer.Record{Provider: x.provider, EventID: x.id, Level: 3, TimeCreated: x.when(), RecordID: id,
		Computer: x.computer, Channel: "System"}
	var vals []writer.Value
	for _, p := range x.params {
		vals = append(vals, writer.String(p))
	}
	switch x.provider {
	case fxSCM, fxTS:
		r.EventSourceName = x.provider
		if x.provider == fxSCM {
			r.Provider = ""
		}
		r.Qualifiers = 16384
		r.Payload = writer.ClassicData(x.params...)
	case fxRCM, fxLSM:
		r.Payload = writer.EventXML(vals...)
	default:
		var pairs []any
		for i, v := range vals {
			pairs = append(pairs, fmt.Sprintf("param%d", i+1), v)
		}
		r.Payload = writer.NamedData(pairs...)
	}
	return r
}

// writeEVTX writes events as an EVTX file with the project's encoder.
func writeEVTX(t *testing.T, path string, evs []fev) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for i, x := range evs {
		if err := w.Write(x.record(uint64(i + 1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// xmlExport renders events the way `wevtutil qe System /f:xml` prints them
// (one <Event> per line, no root element), or wrapped in <Events> as Event
// Viewer's "Save As XML" writes.
func xmlExport(evs []fev, wrapped bool) string {
	var b strings.Builder
	if wrapped {
		b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Events>\n")
	}
	for i, x := range evs {
		b.WriteString(x.xml(uint64(i + 1)))
		b.WriteString("\n")
	}
	if wrapped {
		b.WriteString("</Events>\n")
	}
	return b.String()
}

func (x fev) xml(id uint64) string {
	r := x.record(id)
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>`)
	switch {
	case r.Provider != "" && r.EventSourceName != "":
		fmt.Fprintf(&b, `<Provider Name='%s' EventSourceName='%s'/>`, esc(r.Provider), esc(r.EventSourceName))
	case r.Provider != "":
		fmt.Fprintf(&b, `<Provider Name='%s'/>`, esc(r.Provider))
	default:
		fmt.Fprintf(&b, `<Provider Name='%s' EventSourceName='%s'/>`, esc(r.EventSourceName), esc(r.EventSourceName))
	}
	if r.Qualifiers != 0 {
		fmt.Fprintf(&b, `<EventID Qualifiers='%d'>%d</EventID>`, r.Qualifiers, r.EventID)
	} else {
		fmt.Fprintf(&b, `<EventID>%d</EventID>`, r.EventID)
	}
	fmt.Fprintf(&b, `<Version>0</Version><Level>%d</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords>`, r.Level)
	fmt.Fprintf(&b, `<TimeCreated SystemTime='%s'/><EventRecordID>%d</EventRecordID>`, r.TimeCreated.UTC().Format("2006-01-02T15:04:05.0000000Z"), r.RecordID)
	fmt.Fprintf(&b, `<Correlation/><Execution ProcessID='0' ThreadID='0'/><Channel>%s</Channel><Computer>%s</Computer><Security/></System>`, esc(r.Channel), esc(r.Computer))
	switch x.provider {
	case fxSCM, fxTS:
		b.WriteString(`<EventData>`)
		for _, p := range x.params {
			fmt.Fprintf(&b, `<Data>%s</Data>`, esc(p))
		}
		b.WriteString(`</EventData>`)
	case fxRCM, fxLSM:
		b.WriteString(`<UserData><EventXML xmlns='Event_NS'>`)
		for i, p := range x.params {
			fmt.Fprintf(&b, `<Param%d>%s</Param%d>`, i+1, esc(p), i+1)
		}
		b.WriteString(`</EventXML></UserData>`)
	default:
		b.WriteString(`<EventData>`)
		for i, p := range x.params {
			fmt.Fprintf(&b, `<Data Name='param%d'>%s</Data>`, i+1, esc(p))
		}
		b.WriteString(`</EventData>`)
	}
	b.WriteString(`</Event>`)
	return b.String()
}

func writeFixtureFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
