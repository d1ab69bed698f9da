package evtx

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// libevtxRecord is one record as Debian's evtxexport (libevtx) prints it.
type libevtxRecord struct {
	number   uint64
	fields   map[string]string
	strs     []string
	complete bool
}

// evtxexport runs libevtx's exporter. It stops at the first record it
// cannot read (exit status non-zero), so what it printed before is kept.
func evtxexport(path string) []libevtxRecord {
	out, _ := exec.Command("evtxexport", path).Output()
	var recs []libevtxRecord
	var cur *libevtxRecord
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		line := sc.Text()
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		val = strings.TrimPrefix(strings.TrimLeft(val, "\t"), " ")
		switch {
		case key == "Event number":
			n, _ := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
			recs = append(recs, libevtxRecord{number: n, fields: map[string]string{}})
			cur = &recs[len(recs)-1]
		case cur == nil:
		case key == "String":
			// "String: 1\t\t\t: value"
			_, v, _ := strings.Cut(val, ":")
			cur.strs = append(cur.strs, strings.TrimPrefix(v, " "))
		default:
			cur.fields[key] = strings.TrimSpace(val)
		}
	}
	return recs
}

// TestFidelityLibevtx compares event id, provider, computer, level, user
// SID and payload strings with libevtx's evtxexport, a third independent
// reader — the only one of the three that reads any CAPI2 record (python-
// evtx and golang-evtx fail all of them; libevtx reads the first 23).
// Accepted libevtx renderings: strings are one line each (multi-line values
// are compared up to their first line break); <Binary> data comes as one
// more string, in hex; hex numbers are zero-padded.
func TestFidelityLibevtx(t *testing.T) {
	dir := corpusDir(t)
	if _, err := exec.LookPath("evtxexport"); err != nil {
		t.Skipf("evtxexport not installed (Debian libevtx-utils): %v", err)
	}
	names := []string{}
	for n := range manifest(t) {
		names = append(names, n)
	}
	sort.Strings(names)
	compared := 0
	for _, name := range names {
		path := filepath.Join(dir, name)
		evs, _ := decodeAll(t, path, Options{KeepTree: true})
		byID := map[uint64]*Event{}
		dup := map[uint64]bool{}
		for _, e := range evs {
			if byID[e.RecordID] != nil {
				dup[e.RecordID] = true
			}
			byID[e.RecordID] = e
		}
		recs := evtxexport(path)
		diffs := 0
		for _, r := range recs {
			ev := byID[r.number]
			if ev == nil || dup[r.number] {
				continue
			}
			compared++
			var d []string
			cmp := func(field, ours, theirs string) {
				if ours != theirs {
					d = append(d, field+": ours "+strconv.Quote(ours)+", libevtx "+strconv.Quote(theirs))
				}
			}
			id := r.fields["Event identifier"]
			if i := strings.Index(id, "("); i >= 0 {
				id = strings.TrimSuffix(id[i+1:], ")")
			}
			cmp("event_id", strconv.Itoa(int(ev.EventID)), id)
			// libevtx prefers Provider/@EventSourceName; we prefer @Name
			// (the contract), so either attribute may match.
			if src := r.fields["Source name"]; src != ev.Provider {
				cmp("provider", ev.Tree.Child("System").Child("Provider").Attr("EventSourceName"), src)
			}
			cmp("computer", ev.Computer, r.fields["Computer name"])
			if sid, ok := r.fields["User security identifier"]; ok {
				cmp("user_sid", ev.UserSID, sid)
			}
			var bin string
			if ed := ev.Tree.Child("EventData"); ed != nil {
				if b := ed.Child("Binary"); b != nil {
					bin = b.Text
				}
			}
			d = append(d, compareLibevtxStrings(ev.Params, r.strs, bin, userDataAttrs(ev))...)
			if len(d) > 0 {
				diffs++
				if diffs <= 5 {
					t.Errorf("%s: record %d: %s", name, r.number, strings.Join(d, "; "))
				}
			}
		}
		t.Logf("%s: libevtx printed %d records, we %d; differences %d", name, len(recs), len(evs), diffs)
	}
	if compared == 0 {
		t.Fatal("no record compared")
	}
	t.Logf("compared %d records with libevtx", compared)
}

func userDataAttrs(ev *Event) bool {
	ud := ev.Tree.Child("UserData")
	if ud == nil {
		return false
	}
	for _, el := range ud.Children {
		for _, a := range el.Attrs {
			if a.Name != "xmlns" && !strings.HasPrefix(a.Name, "xmlns:") {
				return true
			}
		}
		for _, c := range el.Children {
			if len(c.Attrs) > 0 {
				return true
			}
		}
	}
	return false
}

// subsequence checks that ours' non-empty values appear in theirs in order.
func subsequence(ours, theirs []string) []string {
	j := 0
	for _, s := range ours {
		if s == "" {
			continue
		}
		for j < len(theirs) && firstLine(theirs[j]) != firstLine(s) {
			j++
		}
		if j == len(theirs) {
			return []string{"strings: ours " + strconv.Quote(strings.Join(ours, "|")) + " not in order in libevtx's " + strconv.Quote(strings.Join(theirs, "|"))}
		}
		j++
	}
	return nil
}

func firstLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func compareLibevtxStrings(ours, theirs []string, binary string, attrValues bool) []string {
	if len(theirs) == 0 {
		return nil
	}
	// libevtx appends EventData/Binary, in hex, as one more string.
	if n := len(theirs); n > 0 && binary != "" && theirs[n-1] == binary {
		theirs = theirs[:n-1]
	}
	if attrValues {
		// libevtx lists every template value, attribute values of UserData
		// elements included; ours (children's text) must appear in order.
		return subsequence(ours, theirs)
	}
	if len(ours) != len(theirs) {
		var nonEmpty []string
		for _, s := range ours {
			if s != "" {
				nonEmpty = append(nonEmpty, s)
			}
		}
		ours = nonEmpty
	}
	if len(ours) != len(theirs) {
		return []string{"strings: ours " + strconv.Quote(strings.Join(ours, "|")) + ", libevtx " + strconv.Quote(strings.Join(theirs, "|"))}
	}
	var d []string
	for i := range ours {
		if a, b := firstLine(ours[i]), firstLine(theirs[i]); a != b && !sameValue(a, b) {
			d = append(d, "string "+strconv.Itoa(i+1)+": ours "+strconv.Quote(ours[i])+", libevtx "+strconv.Quote(theirs[i]))
		}
	}
	return d
}
