package kb

import (
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// Diagnoses is the public contract: every one must have an article.
var Diagnoses = []string{
	"no-license-server", "license-server-unreachable", "grace-period-expiring",
	"grace-period-expired", "licensing-mode-not-configured", "licensing-mode-mismatch",
	"cal-pool-exhausted", "temporary-cal-expired", "invalid-client-license",
	"license-server-not-activated", "cal-version-incompatible", "rdsh-certificate-invalid",
	"per-user-cal-ad-attribute", "ls-security-group-rejected", "license-server-pinned",
	"internet-connector-account", "thin-client-firmware", "license-db-problem",
	"cal-migration-leftovers",
}

func load(t *testing.T) *Base {
	t.Helper()
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEveryDiagnosisHasAnArticle(t *testing.T) {
	b := load(t)
	for _, id := range Diagnoses {
		if _, ok := b.Get(id); !ok {
			t.Errorf("no article for diagnosis %q", id)
		}
	}
	if _, ok := b.Get("no-such-diagnosis"); ok {
		t.Error("Get found an article that does not exist")
	}
}

func TestArticlesAreComplete(t *testing.T) {
	for _, a := range load(t).All() {
		if len(a.Steps) == 0 || len(a.References) == 0 || len(a.Windows) == 0 || len(a.LookAlikes) == 0 {
			t.Errorf("%s: needs steps, references, windows and look-alikes", a.ID)
		}
		for _, s := range a.Steps {
			if s.Verify == "" {
				t.Errorf("%s/%s: no verify", a.ID, s.ID)
			}
			if s.Boost != "" && s.BoostWhy == "" {
				t.Errorf("%s/%s: boost_when without boost_why (reports show the reason)", a.ID, s.ID)
			}
			if s.Risk == "destructive" && len(s.Backup) == 0 {
				t.Errorf("%s/%s: destructive without a backup", a.ID, s.ID)
			}
			for _, c := range s.Commands {
				if strings.HasPrefix(c, "reg delete") && len(s.Backup) == 0 {
					t.Errorf("%s/%s: reg delete without a backup", a.ID, s.ID)
				}
			}
		}
	}
}

// Every rule of the built-in pack must point at articles that exist, and
// every article must be reachable from some rule.
func TestRulesAndArticlesMeet(t *testing.T) {
	b := load(t)
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, r := range set.Rules {
		diag := r.Diagnosis
		if diag == "" {
			diag = r.ID
		}
		used[diag] = true
		if _, ok := b.Get(diag); !ok {
			t.Errorf("rule %s diagnoses %q which has no article", r.ID, diag)
		}
		for _, k := range r.KB {
			if _, ok := b.Get(k); !ok {
				t.Errorf("rule %s cites kb %q which has no article", r.ID, k)
			}
		}
	}
	for _, a := range b.All() {
		if !used[a.ID] {
			t.Errorf("article %s is diagnosed by no rule", a.ID)
		}
	}
}

// A boost that reads a fact no rule of that diagnosis computes can never
// fire: catch the typo or the dropped fact.
func TestBoostFactsAreComputedByRules(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	facts := map[string]map[string]bool{}
	for _, r := range set.Rules {
		diag := r.Diagnosis
		if diag == "" {
			diag = r.ID
		}
		if facts[diag] == nil {
			facts[diag] = map[string]bool{}
		}
		for name := range r.Rule.Facts {
			facts[diag][name] = true
		}
	}
	re := regexp.MustCompile(`Facts\.(\w+)`)
	for _, a := range load(t).All() {
		for _, s := range a.Steps {
			for _, m := range re.FindAllStringSubmatch(s.Boost, -1) {
				if !facts[a.ID][m[1]] {
					t.Errorf("%s/%s: boost reads Facts.%s, which no %s rule computes", a.ID, s.ID, m[1], a.ID)
				}
			}
		}
	}
}

func TestLoadRejectsBrokenArticles(t *testing.T) {
	cases := map[string]string{
		"destructive without backup": `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["w"]
references = ["r"]
[[step]]
id = "a"
title = "t"
detail = "d"
risk = "destructive"
where = "client"
verify = "v"
commands = ["reg delete HKLM\\X /f"]`,
		"bad risk": `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["w"]
references = ["r"]
[[step]]
id = "a"
title = "t"
detail = "d"
risk = "risky"
where = "client"
verify = "v"`,
		"bad boost": `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["w"]
references = ["r"]
[[step]]
id = "a"
title = "t"
detail = "d"
risk = "safe"
where = "client"
verify = "v"
boost_when = "Count >"
boost_by = 0.1
boost_why = "w"`,
		"boost without boost_by": `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["w"]
references = ["r"]
[[step]]
id = "a"
title = "t"
detail = "d"
risk = "safe"
where = "client"
verify = "v"
boost_when = "Count > 1"`,
	}
	for name, text := range cases {
		fsys := fstest.MapFS{"a/x.toml": {Data: []byte(text)}}
		if _, err := LoadFS(fsys, "a"); err == nil || !strings.Contains(err.Error(), "a/x.toml") {
			t.Errorf("%s: want an error naming the file, got %v", name, err)
		}
	}
}

func stepIDs(rs []RankedStep) []string {
	var out []string
	for _, s := range rs {
		out = append(out, s.ID)
	}
	return out
}

func TestOneClientPutsClientFixFirst(t *testing.T) {
	a, _ := load(t).Get("invalid-client-license")
	one := Rank(Case{ID: a.ID, Count: 3, Facts: map[string]any{"client_count": 1}}, a)
	many := Rank(Case{ID: a.ID, Count: 12, Facts: map[string]any{"client_count": 6}}, a)
	if one[0].ID != "client-mslicensing" {
		t.Errorf("one client: got %v, want client-mslicensing first", stepIDs(one))
	}
	if many[0].ID != "host-certificate" {
		t.Errorf("many clients: got %v, want host-certificate first", stepIDs(many))
	}
	if !strings.Contains(many[0].Why, "several different clients") {
		t.Errorf("boosted step should say why: %q", many[0].Why)
	}
	for i, s := range one {
		if s.Rank != i+1 {
			t.Errorf("rank %d at position %d", s.Rank, i)
		}
	}
}

func TestStoppedServicePutsStartFirst(t *testing.T) {
	a, _ := load(t).Get("license-server-unreachable")
	stopped := Rank(Case{Count: 4, Facts: map[string]any{"ls_stopped": true}}, a)
	if stopped[0].ID != "start-ls-service" {
		t.Errorf("got %v", stepIDs(stopped))
	}
	retired := Rank(Case{Count: 60, Facts: map[string]any{"license_server": "OLDLS"}}, a)
	if retired[0].ID != "repoint-ls" {
		t.Errorf("weeks of failures with no stop should favour repointing: %v", stepIDs(retired))
	}
}

func TestLastResortAlwaysLast(t *testing.T) {
	b := load(t)
	for _, id := range []string{"grace-period-expired", "grace-period-expiring", "temporary-cal-expired"} {
		a, _ := b.Get(id)
		rs := Rank(Case{Count: 1000, Facts: map[string]any{"days_left": 1.0}}, a)
		last := rs[len(rs)-1]
		if !last.LastResort || !strings.HasPrefix(last.Why, "last resort") {
			t.Errorf("%s: last step %s is not the last resort", id, last.ID)
		}
		for _, s := range rs[:len(rs)-1] {
			if s.LastResort {
				t.Errorf("%s: last resort %s ranked %d of %d", id, s.ID, s.Rank, len(rs))
			}
		}
	}
}

// Equal likelihood: safer step first.
func TestRiskBreaksTies(t *testing.T) {
	a := Article{ID: "x", Steps: []Step{
		{ID: "wipe", Risk: "destructive", Likelihood: 0.5, Backup: []string{"b"}},
		{ID: "look", Risk: "safe", Likelihood: 0.5},
		{ID: "tweak", Risk: "caution", Likelihood: 0.5},
	}}
	got := stepIDs(Rank(Case{}, a))
	if strings.Join(got, ",") != "look,tweak,wipe" {
		t.Errorf("got %v", got)
	}
}

func TestRenderPutsBackupBeforeCommands(t *testing.T) {
	a, _ := load(t).Get("invalid-client-license")
	out := Render(a, Rank(Case{Facts: map[string]any{"client_count": 1}}, a))
	exp := strings.Index(out, `reg export "HKLM\SOFTWARE\Microsoft\MSLicensing" mslicensingbackup.reg`)
	del := strings.Index(out, `reg delete "HKLM\SOFTWARE\Microsoft\MSLicensing" /f`)
	if exp < 0 || del < 0 || exp > del {
		t.Fatalf("backup must precede the delete (export at %d, delete at %d):\n%s", exp, del, out)
	}
	for _, want := range []string{"invalid-client-license", "Look-alikes", "References", "1. On the client", "Verify:"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered article lacks %q", want)
		}
	}
}

// The engine's findings drive the ranking end to end: one client with 1003
// and many clients with 1003 give different first steps; license server 21
// with 1011 ranks the pool above the per-client expiry.
func TestEvidenceFromEngineChangesOrder(t *testing.T) {
	b := load(t)
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	base := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	ev := func(provider string, id uint16, min int, computer string, params ...string) *evtx.Event {
		return &evtx.Event{Provider: provider, EventID: id, TimeCreated: base.Add(time.Duration(min) * time.Minute), Computer: computer, Params: params}
	}
	run := func(evs ...*evtx.Event) []engine.Finding {
		e := engine.New(set, engine.Options{})
		for _, x := range evs {
			if err := e.Feed(x); err != nil {
				t.Fatal(err)
			}
		}
		return e.Finish()
	}
	firstStep := func(f engine.Finding) string {
		a, ok := b.Get(f.ID)
		if !ok {
			t.Fatalf("no article %s", f.ID)
		}
		return Rank(caseOf(f), a)[0].ID
	}

	one := run(ev(rcm, 1003, 0, "RDSH01", "WS-17"), ev(rcm, 1003, 5, "RDSH01", "WS-17"))
	if len(one) == 0 || one[0].ID != "invalid-client-license" || firstStep(one[0]) != "client-mslicensing" {
		t.Fatalf("one client: %+v", one)
	}
	many := run(ev(rcm, 1003, 0, "RDSH01", "WS-1"), ev(rcm, 1003, 5, "RDSH01", "WS-2"), ev(rcm, 1003, 9, "RDSH01", "WS-3"), ev(rcm, 1003, 12, "RDSH01", "WS-4"))
	if len(many) == 0 || many[0].Rule != "invalid-client-license.many-clients" || firstStep(many[0]) != "host-certificate" {
		t.Fatalf("many clients: first %+v", many[0])
	}

	pool := run(
		ev("Microsoft-Windows-TerminalServices-Licensing", 21, 0, "LS01.contoso.com", "LS01", "Windows Server 2016 - RDS Per Device CAL", "RDSH01"),
		ev("Microsoft-Windows-TerminalServices-Licensing", 21, 60, "LS01.contoso.com", "LS01", "Windows Server 2016 - RDS Per Device CAL", "RDSH01"),
		ev(rcm, 1011, 90*24*60, "RDSH01.contoso.com", "WS-1"),
		ev(rcm, 1011, 90*24*60+30, "RDSH01.contoso.com", "WS-2"),
	)
	if len(pool) == 0 || pool[0].ID != "cal-pool-exhausted" {
		t.Fatalf("pool + 1011: want cal-pool-exhausted first, got %v", ids(pool))
	}
	alone := run(ev(rcm, 1011, 0, "RDSH01", "WS-1"))
	if len(alone) == 0 || alone[0].ID != "temporary-cal-expired" {
		t.Fatalf("1011 alone: %v", ids(alone))
	}
}

func ids(fs []engine.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"@"+engine.GroupString(f.Group))
	}
	return out
}

// caseOf is report.CaseOf, which this package's tests cannot import.
func caseOf(f engine.Finding) Case {
	return Case{ID: f.ID, Rule: f.Rule, Severity: f.Severity, Confidence: f.Confidence, Count: f.Count,
		Facts: f.Facts, Group: f.Group, Host: f.Host, EventIDs: f.EventIDs(), SpanDays: f.SpanDays()}
}
