package kb

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/rules"
)

// repoRoot is the module root (kb's parent).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// writeEVTX writes a timeline as a real EVTX file with the project's encoder.
func writeEVTX(t *testing.T, path string, sc timeline, s shape) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	evs := append([]ev(nil), sc.events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	w := writer.New(f)
	for _, x := range evs {
		if err := w.Write(record(x, s, base)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// scanFiles decodes paths through the same source walk and rule-derived
// filter the CLI uses and returns the engine's findings.
func scanFiles(t *testing.T, set *rules.Set, paths ...string) ([]engine.Finding, evtx.Stats) {
	t.Helper()
	en := engine.New(set, engine.Options{})
	st, err := source.Walk(paths, source.Options{Filter: set.Filter()}, en.Feed)
	if decoderMissing(err, st) {
		return scanViaXML(t, set, paths)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unreadable) > 0 {
		t.Fatalf("unreadable inputs: %+v", st.Unreadable)
	}
	return en.Finish(), st
}

// decoderMissing reports the interim state where source.Walk cannot decode
// EVTX yet (issue 2 in progress).
func decoderMissing(err error, st evtx.Stats) bool {
	if err != nil && strings.Contains(err.Error(), "not built yet") {
		return true
	}
	for _, u := range st.Unreadable {
		if strings.Contains(u.Reason, "not built yet") {
			return true
		}
	}
	return false
}

// scanViaXML is the fallback while our EVTX decoder is missing: the same
// bytes rendered to XML by libevtx's evtxexport (or python-evtx), read by our
// XML export reader. It still proves the files and rules end to end.
func scanViaXML(t *testing.T, set *rules.Set, paths []string) ([]engine.Finding, evtx.Stats) {
	t.Helper()
	var xmls []string
	for i, p := range paths {
		x := filepath.Join(t.TempDir(), fmt.Sprintf("%d.xml", i))
		if err := os.WriteFile(x, foreignXML(t, p), 0o644); err != nil {
			t.Fatal(err)
		}
		xmls = append(xmls, x)
	}
	en := engine.New(set, engine.Options{})
	st, err := source.Walk(xmls, source.Options{Filter: set.Filter()}, en.Feed)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unreadable) > 0 {
		t.Fatalf("unreadable XML: %+v", st.Unreadable)
	}
	t.Logf("EVTX decoder not built yet: decoded through evtxexport/python-evtx XML")
	return en.Finish(), st
}

// The scenarios as EVTX bytes: write, decode, diagnose.
func TestScenariosThroughEVTX(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	b := load(t)
	dir := t.TempDir()
	for i, sc := range scenarios() {
		for _, s := range sc.shapes {
			t.Run(fmt.Sprintf("%s/shape%d", sc.name, s), func(t *testing.T) {
				path := filepath.Join(dir, fmt.Sprintf("s%02d-%d.evtx", i, s))
				writeEVTX(t, path, sc, s)
				fs, st := scanFiles(t, set, path)
				if st.Records != len(sc.events) || st.DamagedRecords != 0 {
					t.Errorf("decoded %d records (%d damaged), wrote %d", st.Records, st.DamagedRecords, len(sc.events))
				}
				checkScenario(t, b, sc.expect(), fs)
			})
		}
	}
}

// Real logs with no licensing trouble must not produce a licensing finding
// above info.
func TestCorpusHasNoLicensingFindings(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "corpus", "evtx-samples")
	files, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s (../shared absent)", dir)
	}
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fs, _ := scanFiles(t, set, f)
			for _, x := range fs {
				if x.Severity != "info" {
					t.Errorf("%s: %s (%s) group %v", filepath.Base(f), x.Rule, x.Severity, x.Group)
				}
			}
		})
	}
}

// foreignXML renders an EVTX file as an XML export with both libevtx's
// evtxexport and python-evtx and keeps the one that rendered more events
// (each tool has records it cannot render). Skips when neither can read it.
func foreignXML(t *testing.T, path string) []byte {
	t.Helper()
	var best []byte
	bestN := 0
	if tool, err := exec.LookPath("evtxexport"); err == nil {
		out, _ := exec.Command(tool, "-f", "xml", path).Output()
		body := string(out)
		if i := strings.Index(body, "<Event"); i >= 0 {
			best, bestN = []byte("<Events>\n"+body[i:]+"</Events>\n"), strings.Count(body, "</Event>")
		}
	}
	// python-evtx is slow (minutes on the corpus' large Security logs):
	// consult it for small files or when evtxexport rendered nothing.
	fi, _ := os.Stat(path)
	small := fi != nil && fi.Size() <= 1<<20
	if tool, err := exec.LookPath("evtx_dump.py"); err == nil && (small || bestN == 0) {
		out, err := exec.Command(tool, path).Output()
		if n := strings.Count(string(out), "</Event>"); err == nil && n > bestN {
			best, bestN = out, n
		}
	}
	if bestN == 0 {
		t.Skipf("EVTX decoder not built yet and neither evtxexport nor evtx_dump.py could render %s", filepath.Base(path))
	}
	return best
}
