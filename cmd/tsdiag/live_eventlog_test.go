package main

import (
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

func TestCutMessageOnWholeCharacters(t *testing.T) {
	marker := " … [cut: message too long for the event log]"
	for name, c := range map[string]struct {
		s   string
		max int
	}{
		"ascii":         {strings.Repeat("a", 200), 100},
		"accents":       {strings.Repeat("é", 200), 99},
		"astral":        {strings.Repeat("😀", 200), 101}, // 2 UTF-16 units each: the cut must not split a pair
		"mixed":         {strings.Repeat("a😀é", 100), 77},
		"invalid utf-8": {"ok\xff\xfe" + strings.Repeat("x", 200), 60},
	} {
		got := cutMessage(c.s, c.max)
		if !utf8.ValidString(got) {
			t.Errorf("%s: invalid UTF-8 out", name)
		}
		units := utf16.Encode([]rune(got))
		if len(units) > c.max {
			t.Errorf("%s: %d UTF-16 units > %d", name, len(units), c.max)
		}
		if !strings.HasSuffix(got, marker) {
			t.Errorf("%s: no cut marker: %q", name, got)
		}
		for _, u := range units[:len(units)-utf16Len(marker)] {
			if u == 0xFFFD && name != "invalid utf-8" {
				t.Errorf("%s: replacement character in the kept text", name)
			}
		}
	}
	if got := cutMessage("short é 😀", 100); got != "short é 😀" {
		t.Errorf("a short message changed: %q", got)
	}
	if got := cutMessage(strings.Repeat("😀", 40000), maxEventChars); utf16Len(got) > 31839 {
		t.Errorf("over ReportEvent's per-string limit: %d", utf16Len(got))
	}
}

func TestNoteGate(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g := newNoteGate(3, func() time.Time { return now })
	var written []string
	for i := 0; i < 50; i++ {
		written = append(written, g.lines("tsdiag: live: event skipped: record "+strings.Repeat("x", i%3))...)
	}
	written = append(written, g.lines("tsdiag: live: subscription lost (1722 RPC_S_SERVER_UNAVAILABLE)")...)
	written = append(written, g.lines("   ")...)
	if len(written) != 4 {
		t.Fatalf("written %d lines in the hour, want 3 skips + 1 other: %q", len(written), written)
	}
	now = now.Add(61 * time.Minute)
	next := g.lines("tsdiag: live: stopped after 10 events")
	if len(next) != 2 || !strings.Contains(next[0], "47 further notes like \"tsdiag: live: event skipped:\"") {
		t.Fatalf("after the hour: %q", next)
	}
}

func TestServicePaths(t *testing.T) {
	for _, c := range []struct {
		exe, pf, target string
		copyIt          bool
	}{
		{`C:\Users\bob\Downloads\tsdiag.exe`, `C:\Program Files`, `C:\Program Files\tsdiag\tsdiag.exe`, true},
		{`c:\program files\TSDIAG\tsdiag.exe`, `C:\Program Files\`, `C:\Program Files\tsdiag\tsdiag.exe`, false},
		{`C:\Program Files\tsdiag\..\tsdiag\tsdiag.exe`, `C:\Program Files`, `C:\Program Files\tsdiag\tsdiag.exe`, false},
		{`C:\tools\tsdiag.exe`, ``, ``, false},
	} {
		target, copyIt := servicePaths(c.exe, c.pf)
		if target != c.target || copyIt != c.copyIt {
			t.Errorf("%s in %q: %q copy=%v, want %q copy=%v", c.exe, c.pf, target, copyIt, c.target, c.copyIt)
		}
	}
}
