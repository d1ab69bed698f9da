package scenario_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/readback"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

func loadAll(t *testing.T) []scenario.Scenario {
	t.Helper()
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestEveryDiagnosisHasAScenario: the rules and KB are tested against
// these files, so every diagnosis id needs at least one, and healthy
// servers at least two.
func TestEveryDiagnosisHasAScenario(t *testing.T) {
	count := map[string]int{}
	for _, s := range loadAll(t) {
		count[s.Expect.Diagnosis]++
		if s.Expect.Diagnosis != "none" && len(s.Expect.Group) == 0 {
			t.Errorf("%s: expects %s but no group", s.File, s.Expect.Diagnosis)
		}
	}
	for _, d := range scenario.Diagnoses {
		if count[d] == 0 {
			t.Errorf("no scenario expects %q", d)
		}
	}
	if count["none"] < 2 {
		t.Errorf("%d healthy scenarios, want at least 2", count["none"])
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	good := string(mustRead(t, "grace-period-expired-2019.toml"))
	cases := map[string]struct{ text, want string }{
		"syntax":      {"id = \"x\"\ntitle = \n", "bad.toml:2:"},
		"unknown key": {strings.Replace(good, "days = 18", "days = 18\ncolour = \"red\"", 1), `bad.toml:5: unknown key "colour"`},
		"source":      {strings.Replace(good, `source = "rcm"`, `source = "rcmx"`, 1), `bad.toml:22: event 1: unknown source "rcmx"`},
		"placeholder": {strings.Replace(good, "{date:14d}", "{expiry}", 1), `bad.toml:32: event 2: unknown placeholder {expiry}`},
		"offset":      {strings.Replace(good, `every = "1d"`, `every = "daily"`, 1), `bad.toml:32: event 2: bad time offset "daily"`},
		"diagnosis":   {strings.Replace(good, `"grace-period-expired"`, `"grace-expired"`, 1), `bad.toml:13: expect.diagnosis "grace-expired"`},
		"group":       {strings.Replace(good, `group = { host`, `group = { server`, 1), `bad.toml:14: expect.group label "server"`},
	}
	for name, c := range cases {
		_, err := scenario.Load(fstest.MapFS{"bad.toml": {Data: []byte(c.text)}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", name, err, c.want)
		}
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(scenario.Builtin, name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenerateIsDeterministic(t *testing.T) {
	s := find(t, "license-server-unreachable-2016")
	a := encode(t, s.Generate(7, scenario.DefaultStart, 0))
	b := encode(t, s.Generate(7, scenario.DefaultStart, 0))
	c := encode(t, s.Generate(8, scenario.DefaultStart, 0))
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same bytes")
	}
}

func find(t *testing.T, id string) scenario.Scenario {
	t.Helper()
	s, ok := scenario.Find(loadAll(t), id)
	if !ok {
		t.Fatalf("no scenario %q", id)
	}
	return s
}

func encode(t *testing.T, recs []writer.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := writer.New(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTimelinesInOrder: Windows appends records in time order, and the
// engine's correlation windows rely on it.
func TestTimelinesInOrder(t *testing.T) {
	for _, s := range loadAll(t) {
		recs := s.Generate(1, scenario.DefaultStart, 0)
		for i := 1; i < len(recs); i++ {
			if recs[i].TimeCreated.Before(recs[i-1].TimeCreated) {
				t.Fatalf("%s: record %d at %v is before record %d at %v", s.ID, i+1, recs[i].TimeCreated, i, recs[i-1].TimeCreated)
			}
		}
		end := scenario.DefaultStart.Add(time.Duration(s.Days+120) * 24 * time.Hour)
		if len(recs) == 0 || recs[0].TimeCreated.Before(scenario.DefaultStart) || recs[len(recs)-1].TimeCreated.After(end) {
			t.Errorf("%s: timeline outside its span", s.ID)
		}
	}
}

// TestGraceCountdown checks the countdown every grace scenario writes:
// daily warnings naming one date 14 days after the first warning, in the
// short-date form Windows writes, then the expired event on that date.
func TestGraceCountdown(t *testing.T) {
	warn := map[uint16]uint16{1009: 1008, 1129: 1128, 50281: 50280}
	for _, s := range loadAll(t) {
		if !strings.HasPrefix(s.Expect.Diagnosis, "grace-period-") {
			continue
		}
		var warnings, expired []writer.Record
		for _, r := range s.Generate(3, scenario.DefaultStart, 0) {
			if _, ok := warn[r.EventID]; ok {
				warnings = append(warnings, r)
			}
			for _, e := range warn {
				if r.EventID == e {
					expired = append(expired, r)
				}
			}
		}
		if len(warnings) < 7 {
			t.Fatalf("%s: %d countdown warnings", s.ID, len(warnings))
		}
		date := warnings[0].TimeCreated.Truncate(24 * time.Hour).Add(14 * 24 * time.Hour)
		for i, w := range warnings {
			if got := w.Payload.Params(); len(got) != 1 || got[0] != date.Format("1/2/2006") {
				t.Errorf("%s: warning %d names %q, want %s", s.ID, i+1, got, date.Format("1/2/2006"))
			}
			if i > 0 && w.TimeCreated.Sub(warnings[i-1].TimeCreated) > 25*time.Hour {
				t.Errorf("%s: warnings %d and %d more than a day apart", s.ID, i, i+1)
			}
		}
		wantExpired := s.Expect.Diagnosis == "grace-period-expired"
		if wantExpired != (len(expired) > 0) {
			t.Fatalf("%s: %d expired events", s.ID, len(expired))
		}
		if wantExpired && expired[0].TimeCreated.Truncate(24*time.Hour) != date {
			t.Errorf("%s: first expired event on %v, want on %v", s.ID, expired[0].TimeCreated, date)
		}
	}
}

// TestTemporaryCALNinetyDays: the temporary CAL expires 90 days after the
// client's first connection.
func TestTemporaryCALNinetyDays(t *testing.T) {
	recs := find(t, "temporary-cal-expired-2019").Generate(1, scenario.DefaultStart, 0)
	var first, expired time.Time
	for _, r := range recs {
		if r.EventID == 1149 && r.Payload.Params()[2] == "10.20.9.44" && first.IsZero() {
			first = r.TimeCreated
		}
		if r.EventID == 1011 && expired.IsZero() {
			expired = r.TimeCreated
		}
	}
	if d := expired.Sub(first); d < 90*24*time.Hour || d > 91*24*time.Hour {
		t.Fatalf("1011 %v after the first connection, want 90 days", d)
	}
}

// TestShapesPerEra checks provider names and payload shapes against
// kb-reference.md: classic sources with unnamed Data in 2000/2003, RCM
// with UserData/EventXML/ParamN (or the uncertain legacy EventData form
// with Qualifiers 49152), and no RCM/LSM events on classic-era hosts.
func TestShapesPerEra(t *testing.T) {
	for _, s := range loadAll(t) {
		classicEra := s.Era == "2000" || s.Era == "2003"
		for _, r := range s.Generate(1, scenario.DefaultStart, 0) {
			if err := checkShape(r, classicEra); err != nil {
				t.Errorf("%s: event %d from %s: %v", s.ID, r.EventID, r.Provider, err)
				break
			}
		}
	}
}

func checkShape(r writer.Record, classicEra bool) error {
	p := r.Payload
	switch r.Provider {
	case "TermService", "TermServLicensing", "EventLog":
		if p.Shape != writer.Classic || r.ProviderGUID != "" {
			return fmt.Errorf("not a classic ReportEvent record")
		}
	case scenario.ProviderRCM:
		if classicEra {
			return fmt.Errorf("RCM on a classic-era host")
		}
		legacy := p.Shape == writer.Unnamed && r.Qualifiers == 49152 && r.EventSourceName == "TermService"
		eventXML := p.Shape == writer.UserData && (len(p.Values) == 0 || p.Names[0] == "Param1") && r.Qualifiers == 0
		if r.ProviderGUID != scenario.GUIDRCM || (!legacy && !eventXML) {
			return fmt.Errorf("shape %d, qualifiers %d", p.Shape, r.Qualifiers)
		}
	case scenario.ProviderSCM:
		if classicEra != (p.Shape == writer.Classic) || r.Qualifiers != 16384 {
			return fmt.Errorf("SCM shape %d does not fit the era", p.Shape)
		}
	case scenario.ProviderLicensing, scenario.ProviderLSM:
		if classicEra {
			return fmt.Errorf("manifest provider on a classic-era host")
		}
	default:
		return fmt.Errorf("unexpected provider")
	}
	return nil
}

// TestScenarioFilesReadByLibevtxAndPythonEvtx writes every scenario as
// `tsdiag gen` does and checks that both independent readers return every
// record with the values written.
func TestScenarioFilesReadByLibevtxAndPythonEvtx(t *testing.T) {
	dir := t.TempDir()
	for _, s := range loadAll(t) {
		recs := s.Generate(1, scenario.DefaultStart, 0)
		path := filepath.Join(dir, s.ID+".evtx")
		if err := os.WriteFile(path, encode(t, recs), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tool := range []readback.Tool{readback.Libevtx, readback.PythonEvtx} {
			t.Run(s.ID+"/"+tool.Name, func(t *testing.T) {
				if !tool.Available() {
					t.Skipf("%s is not installed (Debian libevtx-utils / python3-evtx)", tool.Name)
				}
				t.Parallel()
				got, err := tool.Read(path)
				if err != nil {
					t.Fatal(err)
				}
				for _, msg := range readback.Compare(recs, got, 5) {
					t.Error(msg)
				}
			})
		}
	}
}

// TestScenarioFilesDecodeIdentically: the project's decoder returns every
// record of every scenario with the System fields and values written.
func TestScenarioFilesDecodeIdentically(t *testing.T) {
	dir := t.TempDir()
	for _, s := range loadAll(t) {
		recs := s.Generate(1, scenario.DefaultStart, 0)
		path := filepath.Join(dir, s.ID+".evtx")
		if err := os.WriteFile(path, encode(t, recs), 0o644); err != nil {
			t.Fatal(err)
		}
		var evs []*evtx.Event
		st, err := evtx.DecodeFile(path, evtx.Options{}, func(e *evtx.Event) error {
			evs = append(evs, e)
			return nil
		})
		if err != nil || st.DamagedRecords != 0 || st.DamagedChunks != 0 {
			t.Fatalf("%s: %v, damage %+v", s.ID, err, st.Damages)
		}
		for _, msg := range readback.CompareEvents(recs, evs, 5) {
			t.Errorf("%s: %s", s.ID, msg)
		}
	}
}

// TestNoiseBytes: --noise-mb asks for a size; the file lands near it and
// the stream stays in time order.
func TestNoiseBytes(t *testing.T) {
	s := find(t, "healthy-2019-rdsh")
	const want = 8 << 20
	path := filepath.Join(t.TempDir(), "big.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	var last time.Time
	err = s.Stream(1, scenario.DefaultStart, want, func(r writer.Record) error {
		if r.TimeCreated.Before(last) {
			return fmt.Errorf("out of order at %v", r.TimeCreated)
		}
		last = r.TimeCreated
		return w.Write(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	st, _ := os.Stat(path)
	if r := float64(st.Size()) / want; r < 0.8 || r > 1.35 {
		t.Fatalf("asked for %d bytes of noise, file is %d (%.2fx)", want, st.Size(), r)
	}
}

// discardSeeker lets the writer stream without buffering the file.
type discardSeeker struct{ n int64 }

func (d *discardSeeker) Write(p []byte) (int, error)    { d.n += int64(len(p)); return len(p), nil }
func (d *discardSeeker) Seek(int64, int) (int64, error) { return d.n, nil }

// TestStreamMemoryBounded: a large --noise-mb run keeps only the current
// chunk and the current noise burst in memory.
func TestStreamMemoryBounded(t *testing.T) {
	s := find(t, "healthy-2019-rdsh")
	out := &discardSeeker{}
	w := writer.New(out)
	var peak uint64
	var ms runtime.MemStats
	n := 0
	err := s.Stream(1, scenario.DefaultStart, 96<<20, func(r writer.Record) error {
		if n++; n%20000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return w.Write(r)
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if out.n < 96<<20 || peak > 32<<20 {
		t.Fatalf("wrote %d bytes with a peak heap of %d bytes; want ≥ 96 MiB written within 32 MiB of heap", out.n, peak)
	}
	t.Logf("wrote %d MiB, %d records, peak heap in use %d MiB", out.n>>20, n, peak>>20)
}
