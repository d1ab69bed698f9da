package readback

import (
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

// CompareEvents checks what the project's own decoder returned against
// what was written: every System field, Params in order, and Data for
// named payloads. It returns one line per mismatch (at most max).
func CompareEvents(want []writer.Record, got []*evtx.Event, max int) []string {
	if len(got) != len(want) {
		return []string{fmt.Sprintf("%d events decoded, %d records written", len(got), len(want))}
	}
	var out []string
	for i, w := range want {
		if msg := compareEvent(w, got[i], uint64(i+1)); msg != "" {
			out = append(out, fmt.Sprintf("record %d (event %d): %s", i+1, w.EventID, msg))
			if len(out) == max {
				break
			}
		}
	}
	return out
}

func compareEvent(w writer.Record, e *evtx.Event, id uint64) string {
	provider := w.Provider
	if provider == "" {
		provider = w.EventSourceName
	}
	want := fmt.Sprint(provider, strings.ToUpper(w.ProviderGUID), w.EventID, w.Qualifiers, w.Version, w.Level,
		w.Task, w.Opcode, w.Keywords, w.TimeCreated.UTC().Truncate(100*time.Nanosecond), id, w.ProcessID,
		w.ThreadID, w.Channel, w.Computer, w.UserSID)
	have := fmt.Sprint(e.Provider, strings.ToUpper(e.ProviderGUID), e.EventID, e.Qualifiers, e.Version, e.Level,
		e.Task, e.Opcode, e.Keywords, e.TimeCreated, e.RecordID, e.ProcessID,
		e.ThreadID, e.Channel, e.Computer, e.UserSID)
	if want != have {
		return fmt.Sprintf("system fields\n  got  %s\n  want %s", have, want)
	}
	params := w.Payload.Params()
	if fmt.Sprintf("%q", e.Params) != fmt.Sprintf("%q", params) && !nullClassicData(w, e) {
		return fmt.Sprintf("params %q, want %q", e.Params, params)
	}
	for name, v := range scalarData(w.Payload) {
		if e.Data[name] != v {
			return fmt.Sprintf("Data[%q] = %q, want %q", name, e.Data[name], v)
		}
	}
	return ""
}

// nullClassicData: a classic event with no strings carries a null string
// array; Windows (and libevtx) drop the <Data> element, the project's
// decoder keeps it as one empty value. Reported to the decoder's owner;
// a rule reading %1 sees "" either way.
func nullClassicData(w writer.Record, e *evtx.Event) bool {
	return w.Payload.Shape == writer.Classic && len(w.Payload.Values) == 0 && len(e.Params) == 1 && e.Params[0] == ""
}

// scalarData is Payload.Data without array values: a named array renders
// as repeated elements of one name, which a map cannot hold.
func scalarData(p writer.Payload) map[string]string {
	m := p.Data()
	for i, v := range p.Values {
		if v.Type&writer.ArrayFlag != 0 && i < len(p.Names) {
			delete(m, p.Names[i])
		}
	}
	return m
}
