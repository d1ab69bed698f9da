package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// A tar whose first header is a PAX record over archive/tar's limit (2
// MiB here; the corpus has 64 MiB) cannot be read past it: the scan says
// which file and why, with exit 2, never "no licensing problem found".
func TestTarWithHugeHeaderIsUnreadable(t *testing.T) {
	t.Chdir(t.TempDir())
	renewalLog(t, "log.evtx", 10, func(i int) string { return "WS-17" })
	log, err := os.ReadFile("log.evtx")
	if err != nil {
		t.Fatal(err)
	}
	writeWith(t, "bundle.tar", func(w io.Writer) {
		w.Write(tarEntry('x', "PaxHeaders/System.evtx", paxRecord("comment", strings.Repeat("x", 2<<20)), "ustar\x0000"))
		w.Write(tarEntry('0', "RDSH01/System.evtx", log, "ustar\x0000"))
		w.Write(make([]byte, 1024))
	})
	code, out, stderr := scanCLI(t, "", "scan", "bundle.tar")
	if code != 2 || !strings.Contains(stderr, "bundle.tar") || !strings.Contains(stderr, "header field too long") ||
		strings.Contains(out, "No licensing problem") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	// Trap: the same tar with a PAX record of ordinary size is read.
	writeWith(t, "ok.tar", func(w io.Writer) {
		w.Write(tarEntry('x', "PaxHeaders/System.evtx", paxRecord("comment", "exported by support"), "ustar\x0000"))
		w.Write(tarEntry('0', "RDSH01/System.evtx", log, "ustar\x0000"))
		w.Write(make([]byte, 1024))
	})
	if code, _, stderr := scanCLI(t, "", "scan", "--fail-on", "none", "ok.tar"); code != 0 {
		t.Errorf("ordinary tar: exit %d, %s", code, stderr)
	}
}

// An XML export with events whose client name is 1 MiB: every event is
// read and diagnosed and the report stays small (names are shown clipped).
// What the engine keeps is clipped too (engine/retain_test.go shows it in
// a fact); its memory effect is measured by the corpus (docs/limits.md).
func TestGiantEventDataIsClippedInTheReport(t *testing.T) {
	t.Chdir(t.TempDir())
	writeXMLExport(t, "export.xml", func(w io.Writer) {
		for i := range 6 {
			xmlEvent(w, i, "RDSH01", func(w io.Writer) {
				fmt.Fprintf(w, "<Data Name='param1'>%d%s</Data>", i%2, strings.Repeat("C", 1<<20))
			})
		}
	})
	code, out, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", "export.xml")
	if code != 0 || len(out) > 200<<10 {
		t.Fatalf("exit %d, %d bytes of JSON, stderr %s", code, len(out), stderr)
	}
	var rep struct {
		Findings []struct {
			Count int            `json:"count"`
			Facts map[string]any `json:"facts"`
		} `json:"findings"`
		Stats struct {
			Records int `json:"records"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range rep.Findings {
		total += f.Count
	}
	if rep.Stats.Records != 6 || total != 6 {
		t.Errorf("%d records, %d events in findings: %s", rep.Stats.Records, total, out[:min(len(out), 2000)])
	}
}
