package readback

import (
	"fmt"
	"strings"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// Compare checks that a tool's records match what was written, in order,
// with record ids 1…n. It returns one line per mismatch (at most max).
func Compare(want []writer.Record, got []Record, max int) []string {
	if len(got) != len(want) {
		return []string{fmt.Sprintf("%d records read, %d written", len(got), len(want))}
	}
	var out []string
	for i, w := range want {
		if msg := compareOne(w, got[i], uint64(i+1)); msg != "" {
			out = append(out, fmt.Sprintf("record %d (event %d): %s", i+1, w.EventID, msg))
			if len(out) == max {
				break
			}
		}
	}
	return out
}

func compareOne(w writer.Record, g Record, id uint64) string {
	want := []string{fmt.Sprint(w.EventID), fmt.Sprint(id), w.Provider, w.Computer, w.Channel, w.EventSourceName,
		strings.ToLower(w.ProviderGUID), w.UserSID}
	have := []string{g.EventID, g.RecordID, g.Provider, g.Computer, g.Channel, g.SourceName,
		strings.ToLower(g.ProviderGUID), g.UserSID}
	if fmt.Sprint(want) != fmt.Sprint(have) {
		return fmt.Sprintf("system fields %q, want %q", have, want)
	}
	if q := fmt.Sprint(w.Qualifiers); (w.Qualifiers != 0 || g.Qualifiers != "") && g.Qualifiers != q {
		return fmt.Sprintf("qualifiers %q, want %s", g.Qualifiers, q)
	}
	if p := w.Payload.Params(); fmt.Sprintf("%q", g.Params) != fmt.Sprintf("%q", p) && !pythonArrayDefect(w, g) {
		return fmt.Sprintf("params %q, want %q", g.Params, p)
	}
	names := w.Payload.Names
	if w.Payload.Shape == writer.Named || w.Payload.Shape == writer.UserData {
		if fmt.Sprint(g.Names) != fmt.Sprint(names) {
			return fmt.Sprintf("names %q, want %q", g.Names, names)
		}
	}
	return ""
}

// pythonArrayDefect: python-evtx 0.6.1 splits string arrays with a regex
// that skips empty strings and misaligns after consecutive ones
// (WstringArrayTypeNode.string), so classic payloads holding an empty
// string cannot be compared through it. Everything else still is.
func pythonArrayDefect(w writer.Record, g Record) bool {
	if g.Tool != PythonEvtx.Name || w.Payload.Shape != writer.Classic {
		return false
	}
	for _, p := range w.Payload.Params() {
		if p == "" {
			return true
		}
	}
	return false
}
