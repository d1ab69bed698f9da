package main

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxEventChars is the longest message tsdiag writes to the Application
// log, in UTF-16 code units (what ReportEventW counts): "Each string is
// limited to 31,839 characters" (ReportEventW function, lpStrings,
// https://learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-reporteventw),
// with room for the cut marker.
const maxEventChars = 31000

// cutMessage bounds s to max UTF-16 code units, cutting on a whole
// character (never inside a UTF-8 sequence or a surrogate pair) and saying
// so at the end. Invalid UTF-8 is replaced first, so what is written is
// always valid text.
func cutMessage(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	const marker = " … [cut: message too long for the event log]"
	if utf16Len(s) <= max {
		return s
	}
	budget := max - utf16Len(marker)
	n := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2 // a surrogate pair: both halves or neither
		}
		if n+w > budget {
			return s[:i] + marker
		}
		n += w
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// noteGate decides which of live's stderr lines become Application-log
// events when it runs as a service: the start and stop lines, errors and
// changes of plan (a channel left out, a resubscription) do; the same
// kind of line at most perHour times an hour, then one line saying how
// many were held back. Findings have their own events (100–500); these
// notes are event id 1.
type noteGate struct {
	mu      sync.Mutex
	perHour int
	now     func() time.Time
	window  time.Time
	counts  map[string]int
	held    map[string]int
}

func newNoteGate(perHour int, now func() time.Time) *noteGate {
	return &noteGate{perHour: perHour, now: now, counts: map[string]int{}, held: map[string]int{}}
}

// lines returns what to write for one stderr line: nothing, the line, or
// first a summary of the previous hour's held-back lines.
func (g *noteGate) lines(line string) []string {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	if now := g.now(); now.Sub(g.window) >= time.Hour {
		for kind, n := range g.held {
			out = append(out, "tsdiag: live: "+strconv.Itoa(n)+" further notes like \""+kind+"\" were not written to the event log in the last hour")
		}
		g.window, g.counts, g.held = now, map[string]int{}, map[string]int{}
	}
	kind := noteKind(line)
	if g.counts[kind]++; g.counts[kind] > g.perHour {
		g.held[kind]++
		return out
	}
	return append(out, line)
}

// noteKind groups lines by their first words ("tsdiag: live: event
// skipped"), so a flood of one kind is held back, not every note.
func noteKind(line string) string {
	f := strings.Fields(line)
	if len(f) > 4 {
		f = f[:4]
	}
	return strings.Join(f, " ")
}
