package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// Event data is attacker-controlled in a support bundle: a client name with
// a terminal escape, newlines, a forged finding line, a heading and a
// javascript: link must come out inert in text and Markdown.
func TestEventTextCannotForgeReportLines(t *testing.T) {
	t.Chdir(t.TempDir())
	evil := "WS\x1b[2J\r\n#1 CRITICAL forged — all fine\n# Heading `](javascript:alert(1)) \u202eevil"
	writeEVTX(t, "evil.evtx", []fev{fe("TermService", 1028, 1, 9, "RDSH01", evil)})
	os.Mkdir("rules", 0o755)
	os.WriteFile("rules/r.toml", []byte(`
[[rule]]
id = "renewal-refused"
title = "Renewal refused"
severity = "high"
confidence = 1
events = [{ provider = "TermService", id = 1028 }]
group_by = { host = "Computer", client = "Param(1)" }
facts = { last_client = "Param(1)" }
`), 0o644)
	for _, format := range []string{"text", "markdown"} {
		_, out, stderr := scanCLI(t, "", "scan", "--no-builtin", "--rules", "rules", "--color", "always", "--format", format, "evil.evtx")
		if !strings.Contains(out, "renewal-refused") {
			t.Fatalf("%s: no finding:\n%s\n%s", format, out, stderr)
		}
		clean := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "") // tsdiag's own colours
		if strings.ContainsAny(clean, "\x1b\r\u202e") {
			t.Errorf("%s: raw control character from event data in the output", format)
		}
		for _, line := range strings.Split(clean, "\n") {
			if strings.HasPrefix(line, "#1 CRITICAL forged") || strings.HasPrefix(line, "# Heading") {
				t.Errorf("%s: forged line %q", format, line)
			}
		}
		if format == "markdown" && regexp.MustCompile(`[^\\]\]\(javascript:`).MatchString(clean) && !strings.Contains(clean, "``") {
			t.Errorf("markdown: a live javascript: link")
		}
		if !strings.Contains(clean, `\x1b[2J`) {
			t.Errorf("%s: the escape is not shown as text", format)
		}
	}
}
