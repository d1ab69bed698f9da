package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// An outage watched as it happens: 1131 for three hours is an active
// HIGH finding; when the license server logs its licensing service
// starting, watch retires it as RESOLVED at info, as scan reports it.
func TestWatchRetiresResolvedFindings(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	var recs []writer.Record
	for i := 0; i < 4; i++ {
		recs = append(recs, writer.Record{Provider: rcmProvider, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 1131,
			Level: 2, TimeCreated: t0.Add(time.Duration(i) * time.Hour), Channel: "System", Computer: "RDSH01.contoso.com",
			Payload: writer.EventXML(writer.String("LS01.contoso.com"))})
	}
	restart := writer.Record{Provider: "Microsoft-Windows-TerminalServices-Licensing", EventID: 0, Level: 4,
		TimeCreated: t0.Add(3*time.Hour + 10*time.Minute), Channel: "System", Computer: "LS01.contoso.com"}
	path := filepath.Join(t.TempDir(), "ForwardedEvents.evtx")
	writeInPlace(t, path, encodeRecords(t, recs))
	r := startWatch(t, watchOptions{Path: path, Format: "text"})
	if out := r.out.String(); !strings.Contains(out, "NEW     high     license-server-unreachable") {
		r.stop(t)
		t.Fatalf("outage not reported:\n%s", out)
	}
	writeInPlace(t, path, encodeRecords(t, append(recs, restart)))
	r.settle(t)
	r.stop(t)
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "RESOLVED info     license-server-unreachable") || !strings.Contains(last, "recovered_by=Microsoft-Windows-TerminalServices-Licensing 0 on LS01.contoso.com") {
		t.Fatalf("restart did not retire the finding:\n%s", r.out)
	}
}
