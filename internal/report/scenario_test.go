package report

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/engine"
	evtxsource "github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
	"github.com/tsdiag/tsdiag/kb"
	"github.com/tsdiag/tsdiag/rules"
)

// scanScenario writes a built-in scenario as a real EVTX file with the
// project's encoder, scans it with the built-in rules and returns the report
// the CLI would render.
func scanScenario(t *testing.T, id string) *Report {
	t.Helper()
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(s scenario.Scenario) bool { return s.ID == id })
	if i < 0 {
		t.Fatalf("no scenario %s", id)
	}
	path := filepath.Join(t.TempDir(), id+".evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for _, r := range all[i].Generate(1, scenario.DefaultStart, 0) {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	en := engine.New(set, engine.Options{})
	st, err := evtxsource.Walk([]string{path}, evtxsource.Options{Filter: set.Filter()}, en.Feed)
	if err != nil {
		t.Fatal(err)
	}
	base, err := kb.Load()
	if err != nil {
		t.Fatal(err)
	}
	return &Report{Version: SchemaVersion, Tool: "test", Inputs: []string{path}, Stats: st, FailOn: "high",
		Rules: RulesOf(set), Findings: Items(en.Finish(), base)}
}

func findingOf(t *testing.T, r *Report, id string) Item {
	t.Helper()
	for _, it := range r.Findings {
		if it.ID == id {
			return it
		}
	}
	var got []string
	for _, it := range r.Findings {
		got = append(got, it.ID)
	}
	t.Fatalf("no %s finding; got %v", id, got)
	return Item{}
}

func render(t *testing.T, r *Report, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r, format, Options{}); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.String()
}

// A 2003 log and a 2019 log with no license server get different steps, each
// for its own Windows: the era comes from the events (TermService 1010/1026 vs
// RCM 50282) and no step for another era is printed.
func TestNoLicenseServerStepsFollowTheEra(t *testing.T) {
	old := findingOf(t, scanScenario(t, "no-license-server-2003"), "no-license-server")
	modern := findingOf(t, scanScenario(t, "no-license-server-2019"), "no-license-server")
	// The boot events (6009) name the build, which pins the era.
	if c := CaseOf(old.Finding); !slices.Equal(c.Eras, []string{"2003"}) || old.Facts["os_build"] != 3790 {
		t.Errorf("2003 log: eras %v (os_build %v), want [2003] from build 3790", c.Eras, old.Facts["os_build"])
	}
	if c := CaseOf(modern.Finding); !slices.Equal(c.Eras, []string{"2019"}) || modern.Facts["os_build"] != 17763 {
		t.Errorf("2019 log: eras %v (os_build %v), want [2019] from build 17763", c.Eras, modern.Facts["os_build"])
	}
	// Without them the event ids alone narrow it to a range.
	withoutBuild := func(f engine.Finding) engine.Finding {
		f.Facts = maps.Clone(f.Facts)
		delete(f.Facts, "os_build")
		return f
	}
	if c := CaseOf(withoutBuild(old.Finding)); !slices.Equal(c.Eras, []string{"2000", "2003"}) {
		t.Errorf("2003 log without its build: eras %v, want [2000 2003]", c.Eras)
	}
	if c := CaseOf(withoutBuild(modern.Finding)); !slices.Equal(c.Eras, []string{"2019", "2022", "2025"}) {
		t.Errorf("2019 log without its build: eras %v, want [2019 2022 2025]", c.Eras)
	}
	ids := func(it Item) []string {
		var out []string
		for _, s := range it.Steps {
			out = append(out, s.ID)
		}
		return out
	}
	if slices.Equal(ids(old), ids(modern)) {
		t.Fatalf("the 2003 and 2019 logs got the same steps: %v", ids(old))
	}
	// A step must fit one of the eras the log allows; when it does not fit
	// them all (a 2000-only step on a 2000-or-2003 log) it is marked.
	for _, it := range []Item{old, modern} {
		eras := CaseOf(it.Finding).Eras
		for _, s := range it.Steps {
			if len(s.Windows) == 0 {
				continue
			}
			fits := slices.ContainsFunc(eras, func(e string) bool { return slices.Contains(s.Windows, e) })
			all := !slices.ContainsFunc(eras, func(e string) bool { return !slices.Contains(s.Windows, e) })
			if !fits || s.EraUnsure == all {
				t.Errorf("log of %v: step %s for %v (fits %v, marked %v)", eras, s.ID, s.Windows, fits, s.EraUnsure)
			}
		}
	}
	oldText := render(t, &Report{Version: SchemaVersion, FailOn: "high", Findings: []Item{old}}, "text")
	modernText := render(t, &Report{Version: SchemaVersion, FailOn: "high", Findings: []Item{modern}}, "text")
	// Tools and namespaces that do not exist on 2000/2003.
	for _, wrong := range []string{"Server Manager", `root\cimv2\terminalservices`, "Deployment Properties", "Install-WindowsFeature"} {
		if strings.Contains(oldText, wrong) {
			t.Errorf("2003 text names %q:\n%s", wrong, oldText)
		}
	}
	if slices.ContainsFunc(old.Steps, func(s kb.RankedStep) bool { return s.EraUnsure }) &&
		!strings.Contains(oldText, "check the host's version first") {
		t.Errorf("2003 text keeps steps for only some of the possible versions without saying so:\n%s", oldText)
	}
	if !strings.Contains(modernText, `root\cimv2\terminalservices`) {
		t.Errorf("2019 text lacks the terminalservices WMI checks:\n%s", modernText)
	}
	for _, s := range []string{oldText, modernText} {
		if strings.Contains(s, "<host>") {
			t.Errorf("the host is known but <host> was left unfilled:\n%s", s)
		}
	}
	if !strings.Contains(oldText, "TS2003") || !strings.Contains(modernText, "RDSH03") {
		t.Errorf("the reports do not name the hosts")
	}
}

// One client with 1003 on a 2019 host: every format shows the host's and the
// client's names filled into the steps, each command in a block labelled with
// its shell, the phases and versions, and the article's public references.
func TestReportsFillNamesAndShowSteps(t *testing.T) {
	r := scanScenario(t, "invalid-client-license-2019")
	it := findingOf(t, r, "invalid-client-license")
	// The incident folds its clients into a list fact.
	if cl, _ := it.Facts["clients"].([]string); len(cl) != 1 || cl[0] != "WKS-088" {
		t.Fatalf("clients %#v (group %v)", it.Facts["clients"], it.Group)
	}
	r.Findings = []Item{it}
	placeholder := regexp.MustCompile(`&lt;(host|client)&gt;|<(host|client)>`)
	checks := map[string][]string{
		"text": {"On WKS-088: back up and delete the MSLicensing key", "On RDSH04.contoso.local: back up",
			"[CHECK; safe; on the client]", "[FIX; destructive; on the session host; DISCONNECTS USERS]",
			"Applies to: Windows Server 2008 to 2025", "Run (cmd):\n        change logon /drain",
			"Back up first (cmd):\n        reg export \"HKLM\\SOFTWARE\\Microsoft\\MSLicensing\""},
		"markdown": {"On WKS-088: back up", "On RDSH04.contoso.local: back up", "_Applies to:_",
			"Run (cmd):\n\n   ```bat\n   change logon /drain\n   ```",
			"Run (PowerShell):\n\n   ```powershell\n   ([wmiclass]\"root\\cimv2:Win32_TSLicenseServer\").ReactivateServerAutomatic(1).ActivationStatus"},
		"html": {"On WKS-088: back up", "On RDSH04.contoso.local: back up", "Applies to: Windows Server 2008 to 2025",
			`<div>Run (cmd):</div><pre class="cmd" data-shell="cmd">change logon /drain</pre>`,
			"<h3>References</h3>", `<a href="https://technet.microsoft.com/en-us/library/cc775262%28v=ws.10%29.aspx">Event ID 1003`},
		"sarif": {"Remediation, in order", "Run (PowerShell):", "References", "https://technet.microsoft.com/en-us/library/cc775262(v=ws.10).aspx"},
	}
	for format, wants := range checks {
		out := render(t, r, format)
		for _, want := range wants {
			want := want
			if format == "sarif" {
				// SARIF is JSON: the help text's newlines and quotes are escaped.
				want = strings.NewReplacer("\n", `\n`, `"`, `\"`).Replace(want)
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", format, want)
			}
		}
		if format != "sarif" && placeholder.MatchString(out) {
			t.Errorf("%s leaves a known name as a placeholder: %q", format, placeholder.FindString(out))
		}
		for _, bad := range []string{"PowerShell: ", "kb-reference", "Seed S"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s contains %q", format, bad)
			}
		}
	}
	// The check that decides comes before the change it decides, in order.
	text := render(t, r, "text")
	if c, f := strings.Index(text, "On WKS-088: look at the MSLicensing key"), strings.Index(text, "On WKS-088: back up"); c < 0 || f < 0 || c > f {
		t.Errorf("the client check must precede the client fix (at %d and %d)", c, f)
	}
}
