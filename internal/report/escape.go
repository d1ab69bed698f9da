package report

import (
	"fmt"
	"strings"
)

// printable neutralises what event data could use to forge or hide report
// text: control characters (ESC of a terminal sequence, CR and LF that
// start a fake line, DEL, C1), line and paragraph separators and the bidi
// controls that reorder what a reader sees. Each becomes a visible escape
// (\x1b, \n, \u202e). Event data is attacker-controlled in a support
// bundle; tsdiag's own colour codes are added after this.
func printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || hidden(r) {
			return true
		}
	}
	return false
}

// hidden: separators and bidi controls that change layout invisibly.
func hidden(r rune) bool {
	return r == 0x2028 || r == 0x2029 || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c || r == 0xfeff
}

// mdCodeSpan puts s in a Markdown code span that s cannot close: the fence
// is one backtick longer than the longest run in s.
func mdCodeSpan(s string) string {
	s = printable(s)
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
