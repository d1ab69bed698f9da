package main

import (
	"archive/zip"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/kb"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

var goldenExt = map[string]string{"text": "txt", "json": "json", "sarif": "sarif", "junit": "xml", "html": "html", "markdown": "md"}

// farmDir writes the farm log as EVTX (the project's encoder) and as an XML
// export, and a healthy log, into a fresh directory and makes it the working
// directory, so reports name the inputs by the same relative paths on every
// machine.
func farmDir(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
	writeEVTX(t, "farm.evtx", farmEvents())
	writeFixtureFile(t, "farm.xml", xmlExport(farmEvents(), false))
	writeFixtureFile(t, "healthy.xml", xmlExport(healthyEvents(), true))
}

// scanReport scans with fixed wall clock and duration, so renders are
// byte-stable.
func scanReport(t *testing.T, o scanOptions) *report.Report {
	t.Helper()
	if o.Clock == nil {
		o.Clock = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	_, rep, err := buildReport(context.Background(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep.Duration = 1234 * time.Millisecond
	return rep
}

func render(t *testing.T, rep *report.Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.Write(&b, rep, format, report.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGoldenReports(t *testing.T) {
	golden, _ := filepath.Abs("testdata/golden")
	farmDir(t)
	// The golden scan runs a frozen copy of the rule pack and of the three
	// articles it cites (testdata/golden/rules, testdata/golden/kb), so the
	// files change only when rendering does; TestFarmDiagnosis checks the
	// live built-in pack on the same log.
	base, err := kb.LoadFS(os.DirFS(filepath.Join(golden, "kb")), ".")
	if err != nil {
		t.Fatal(err)
	}
	rep := scanReport(t, scanOptions{Inputs: []string{"farm.evtx", "healthy.xml"}, NoBuiltin: true,
		RuleDirs: []string{filepath.Join(golden, "rules")}, KB: base})
	if len(rep.Findings) == 0 {
		t.Fatal("farm scan found nothing")
	}
	for format, ext := range goldenExt {
		t.Run(format, func(t *testing.T) {
			got := render(t, rep, format)
			path := filepath.Join(golden, "farm."+ext)
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/tsdiag -run TestGoldenReports -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s; diff against the file after -update:\n%s", format, path, firstDiff(string(want), string(got)))
			}
		})
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(same lines, different bytes)"
}

// The diagnoses the farm must yield, in rank order, with their groups.
func TestFarmDiagnosis(t *testing.T) {
	farmDir(t)
	rep := scanReport(t, scanOptions{Inputs: []string{"farm.xml"}})
	want := []struct{ id, key, value string }{
		{"rdsh-certificate-invalid", "host", "RDSH02.contoso.com"},
		{"grace-period-expiring", "host", "RDSH01.contoso.com"},
		{"invalid-client-license", "client", "WS-17"},
	}
	if len(rep.Findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(rep.Findings), len(want), ids(rep))
	}
	for i, w := range want {
		f := rep.Findings[i]
		if f.ID != w.id || !engine.HasLabel(&f.Finding, w.key, w.value) || f.Rank != i+1 {
			t.Errorf("finding %d = %s %v rank %d, want %s %s=%s", i, f.ID, f.Group, f.Rank, w.id, w.key, w.value)
		}
		if len(f.Steps) == 0 || f.Article == nil {
			t.Errorf("%s has no steps or article", f.ID)
		}
	}
	// The countdown is relative to RDSH01's own newest event (2024-03-06 01:00,
	// not RDSH02's 1133 at 08:00) and the date in the warning (2024-03-15).
	if dl, _ := rep.Findings[1].Facts["days_left"].(float64); dl < 8.95 || dl > 8.96 {
		t.Errorf("days_left = %v, want 8 days 23 hours", rep.Findings[1].Facts["days_left"])
	}
	if rep.Stats.Records != len(farmEvents()) || rep.Now != time.Date(2024, 3, 6, 8, 0, 0, 0, time.UTC) {
		t.Errorf("records %d now %v", rep.Stats.Records, rep.Now)
	}
	// --now moves the countdown.
	rep = scanReport(t, scanOptions{Inputs: []string{"farm.xml"}, Now: "2024-03-14"})
	for _, f := range rep.Findings {
		if f.ID == "grace-period-expiring" {
			if dl, _ := f.Facts["days_left"].(float64); dl != 1 {
				t.Errorf("days_left at --now 2024-03-14 = %v, want 1", dl)
			}
		}
	}
	// --since drops the first days: the certificate and client findings stay.
	rep = scanReport(t, scanOptions{Inputs: []string{"farm.xml"}, Since: "2024-03-04T12:00:00Z"})
	for _, f := range rep.Findings {
		if f.FirstSeen.Before(time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("%s first seen %v before --since", f.ID, f.FirstSeen)
		}
	}
}

func ids(rep *report.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, f.ID+" "+f.Severity)
	}
	return out
}

// A support bundle gives the same diagnosis as the loose file, and the
// evidence names the member inside the archive.
func TestScanZipBundle(t *testing.T) {
	farmDir(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("logs/farm-export.xml")
	io.WriteString(w, xmlExport(farmEvents(), true))
	w, _ = zw.Create("notes.txt")
	io.WriteString(w, "ticket 4711\n")
	zw.Close()
	writeFixtureFile(t, "bundle.zip", buf.String())
	rep := scanReport(t, scanOptions{Inputs: []string{"bundle.zip"}})
	if len(rep.Findings) != 3 || rep.Findings[0].ID != "rdsh-certificate-invalid" {
		t.Fatalf("findings %v", ids(rep))
	}
	if f := rep.Findings[0].Evidence[0].File; !strings.HasPrefix(f, "bundle.zip!") {
		t.Errorf("evidence file %q does not name the member", f)
	}
	failing := len(rep.Failing())
	junit := string(render(t, rep, "junit"))
	// One case per incident; only those at or above --fail-on fail, as the exit code does.
	if !strings.Contains(junit, `<testsuite name="bundle.zip"`) || failing == 0 || failing == 3 ||
		strings.Count(junit, "<failure") != failing || strings.Count(junit, "passes: ") != 3-failing {
		t.Errorf("junit over the bundle:\n%s", junit)
	}
}

// The binary log and its XML export are the same events: the same
// findings, facts and evidence records, only the file names differ.
func TestEVTXAndXMLExportAgree(t *testing.T) {
	farmDir(t)
	bin := scanReport(t, scanOptions{Inputs: []string{"farm.evtx"}})
	xml := scanReport(t, scanOptions{Inputs: []string{"farm.xml"}})
	if len(bin.Stats.Unreadable) > 0 || bin.Stats.Records != len(farmEvents()) {
		t.Fatalf("farm.evtx: %d records, unreadable %v", bin.Stats.Records, bin.Stats.Unreadable)
	}
	if len(bin.Findings) != 3 || len(bin.Findings) != len(xml.Findings) {
		t.Fatalf("evtx %v, xml %v", ids(bin), ids(xml))
	}
	raw, err := os.ReadFile("farm.evtx")
	if err != nil {
		t.Fatal(err)
	}
	for i := range bin.Findings {
		b, x := bin.Findings[i].Finding, xml.Findings[i].Finding
		// The offset SARIF and JSON report must be the record's own header.
		for _, e := range b.Evidence {
			if e.Offset <= 0 || int(e.Offset)+4 > len(raw) || string(raw[e.Offset:e.Offset+4]) != "**\x00\x00" {
				t.Errorf("%s evidence offset %d is not a record header", b.ID, e.Offset)
			}
		}
		if b.ID != x.ID || b.Count != x.Count || b.Score != x.Score || engineGroup(b.Group) != engineGroup(x.Group) ||
			!reflect.DeepEqual(b.Facts, x.Facts) || len(b.Evidence) != len(x.Evidence) {
			t.Errorf("finding %d differs:\nevtx %+v\nxml  %+v", i, b, x)
			continue
		}
		for j := range b.Evidence {
			be, xe := b.Evidence[j], x.Evidence[j]
			if be.RecordID != xe.RecordID || !be.Time.Equal(xe.Time) || be.EventID != xe.EventID || be.File != "farm.evtx" || be.Offset == 0 {
				t.Errorf("evidence %d/%d: evtx %+v, xml %+v", i, j, be, xe)
			}
		}
	}
}

func engineGroup(g map[string]string) string { return fmt.Sprint(g) }

// Two customers' bundles with the same host names: one stream merges them
// into one finding per host; --separate keeps one finding per case, each
// pointing at its own input.
func TestSeparateKeepsCasesApart(t *testing.T) {
	farmDir(t)
	farm, _ := os.ReadFile("farm.evtx")
	writeFixtureFile(t, "case-a/System.evtx", string(farm))
	writeFixtureFile(t, "case-b/System.evtx", string(farm))
	merged := scanReport(t, scanOptions{Inputs: []string{"case-a", "case-b"}})
	apart := scanReport(t, scanOptions{Inputs: []string{"case-b", "case-a"}, Separate: true})
	if len(merged.Findings) != 3 || len(apart.Findings) != 6 {
		t.Fatalf("merged %v, separate %v", ids(merged), ids(apart))
	}
	for i, f := range apart.Findings {
		want := "case-a/"
		if i%2 == 1 {
			want = "case-b/"
		}
		for _, e := range f.Evidence {
			if !strings.HasPrefix(e.File, want) {
				t.Errorf("finding %d (%s) has evidence from %s, want only %s", i+1, f.ID, e.File, want)
			}
		}
		if f.Rank != i+1 {
			t.Errorf("rank %d at %d", f.Rank, i+1)
		}
	}
	if apart.Stats.Files != 2 || apart.Stats.Records != 2*len(farmEvents()) {
		t.Errorf("stats %+v", apart.Stats)
	}
}
