package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/internal/readback"
	"github.com/tsdiag/tsdiag/internal/scenario"
	"github.com/tsdiag/tsdiag/rules"
)

func genCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestGenSameSeedSameBytes(t *testing.T) {
	dir := t.TempDir()
	gen := func(name string, seed string) []byte {
		p := filepath.Join(dir, name)
		code, _, stderr := genCLI(t, "gen", "license-server-unreachable-2016", "--seed", seed, "-o", p)
		if code != 0 {
			t.Fatalf("gen exit %d: %s", code, stderr)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := gen("a.evtx", "42"), gen("b.evtx", "42"), gen("c.evtx", "43")
	if !bytes.Equal(a, b) {
		t.Fatal("same seed wrote different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds wrote the same bytes")
	}
}

func TestGenList(t *testing.T) {
	code, out, _ := genCLI(t, "gen", "--list")
	if code != 0 || !strings.Contains(out, "grace-period-expired-2019") || !strings.Contains(out, "healthy-2019-rdsh") {
		t.Fatalf("exit %d, list:\n%s", code, out)
	}
}

func TestGenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("id = \"x\"\ntitle = \"t\"\nera = \"1999\"\n"), 0o644)
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown":   {[]string{"gen", "no-such", "-o", filepath.Join(dir, "x.evtx")}, `no scenario "no-such"`},
		"no output": {[]string{"gen", "healthy-2003-ts"}, "usage: tsdiag gen"},
		"start":     {[]string{"gen", "healthy-2003-ts", "--start", "yesterday", "-o", filepath.Join(dir, "y.evtx")}, `--start "yesterday"`},
		"bad file":  {[]string{"gen", bad, "-o", filepath.Join(dir, "z.evtx")}, "bad.toml:3: era"},
	}
	for name, c := range cases {
		code, _, stderr := genCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want 2 and %q", name, code, stderr, c.want)
		}
	}
}

// TestGenNoiseMB writes a benchmark-sized file and checks libevtx reads
// every record of it.
func TestGenNoiseMB(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.evtx")
	code, _, stderr := genCLI(t, "gen", "grace-period-expired-2019", "--noise-mb", "4", "-o", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() < 4<<20 || st.Size() > 7<<20 {
		t.Fatalf("size %v (%v), want about 4 MiB plus the scenario", st.Size(), err)
	}
	if !readback.Libevtx.Available() {
		t.Skip("libevtx evtxexport not installed (Debian libevtx-utils)")
	}
	recs, err := readback.Libevtx.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := "records"; !strings.Contains(stderr, want) || !strings.Contains(stderr, " "+strconv.Itoa(len(recs))+" records") {
		t.Fatalf("libevtx read %d records; gen said %q", len(recs), stderr)
	}
}

// TestScenariosDiagnosedAsExpected closes the loop of issue 3 and 5: every
// built-in scenario, written by gen and read by the real scan, yields the
// diagnosis its file declares — ranked first, with the declared group
// labels and facts — and healthy scenarios yield nothing above info.
func TestScenariosDiagnosedAsExpected(t *testing.T) {
	all, err := builtinScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		// Each in its own folder: a scenario with a registry export is
		// scanned as a bundle folder holds it, the .reg beside the log.
		dir := t.TempDir()
		path := filepath.Join(dir, s.ID+".evtx")
		if _, err := writeScenario(s, path, 1, scenario.DefaultStart, 0); err != nil {
			t.Fatal(err)
		}
		if err := writeRegistryFiles(s, path, scenario.DefaultStart, io.Discard); err != nil {
			t.Fatal(err)
		}
		code, out, stderr := genCLI(t, "scan", "--fail-on", "none", "--format", "json", dir)
		if code != 0 {
			t.Fatalf("%s: scan exit %d: %s", s.ID, code, stderr)
		}
		var rep struct {
			Findings []struct {
				ID       string            `json:"id"`
				Severity string            `json:"severity"`
				Group    map[string]string `json:"group"`
				Facts    map[string]any    `json:"facts"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		if s.Expect.Diagnosis == "none" {
			for _, f := range rep.Findings {
				if f.Severity != "info" {
					t.Errorf("%s: healthy scenario has %s finding %s", s.ID, f.Severity, f.ID)
				}
			}
			continue
		}
		if len(rep.Findings) == 0 {
			t.Errorf("%s: no finding, want %s", s.ID, s.Expect.Diagnosis)
			continue
		}
		f := rep.Findings[0]
		if f.ID != s.Expect.Diagnosis {
			// A cause leads its symptoms (rules/builtin/90-incidents.toml):
			// the scenario's diagnosis may follow a cause it is symptom_of.
			i := slices.IndexFunc(rep.Findings, func(x struct {
				ID       string            `json:"id"`
				Severity string            `json:"severity"`
				Group    map[string]string `json:"group"`
				Facts    map[string]any    `json:"facts"`
			}) bool {
				return x.ID == s.Expect.Diagnosis
			})
			if i > 0 && isSymptomOf(t, s.Expect.Diagnosis, f.ID) {
				f = rep.Findings[i]
			} else {
				t.Errorf("%s: first finding %s, want %s", s.ID, f.ID, s.Expect.Diagnosis)
			}
		}
		for k, v := range s.Expect.Group {
			if f.Group[k] != v && !inList(f.Facts[k+"s"], v) {
				t.Errorf("%s: group %s=%q, want %q", s.ID, k, f.Group[k], v)
			}
		}
		for k, v := range s.Expect.Facts {
			if fmt.Sprint(f.Facts[k]) != fmt.Sprint(v) {
				t.Errorf("%s: fact %s=%v, want %v", s.ID, k, f.Facts[k], v)
			}
		}
	}
}

// inList: an incident folds labels beyond host and license server (client,
// user…) into a "<label>s" list fact.
func inList(list any, v string) bool {
	l, _ := list.([]any)
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func isSymptomOf(t *testing.T, symptom, cause string) bool {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	d := set.Diagnosis(symptom)
	return d != nil && slices.Contains(d.SymptomOf, cause)
}
