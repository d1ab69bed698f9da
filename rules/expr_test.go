package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

func TestParseDate(t *testing.T) {
	d := func(y, m, day, h, min int) time.Time { return time.Date(y, time.Month(m), day, h, min, 0, 0, time.UTC) }
	cases := map[string]time.Time{
		"4/15/2021":                   d(2021, 4, 15, 0, 0),
		"04/15/2021 10:00:00 AM":      d(2021, 4, 15, 10, 0),
		"04/15/2021 12:30:00 AM":      d(2021, 4, 15, 0, 30),
		"4/15/2021 1:05 PM":           d(2021, 4, 15, 13, 5),
		"2021-04-15":                  d(2021, 4, 15, 0, 0),
		"2021-04-15T10:00:00Z":        d(2021, 4, 15, 10, 0),
		"Monday, April 15, 2021":      d(2021, 4, 15, 0, 0),
		"April 15, 2021":              d(2021, 4, 15, 0, 0),
		"15.04.2021":                  d(2021, 4, 15, 0, 0),
		"15.04.2021 22:10":            d(2021, 4, 15, 22, 10),
		"15/04/2021":                  d(2021, 4, 15, 0, 0),
		"\u200e4/\u200e15/\u200e2021": d(2021, 4, 15, 0, 0),
		"04/05/2021":                  d(2021, 4, 5, 0, 0), // ambiguous: month first
		"05.04.2021":                  d(2021, 4, 5, 0, 0), // dotted: day first
	}
	for in, want := range cases {
		if got := ParseDate(in); !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "soon", "13/13/2021", "2/30/2021", "4/15/21", "04/15/2021 25:00", "1/2/3/4"} {
		if got := ParseDate(bad); !got.IsZero() {
			t.Errorf("ParseDate(%q) = %v, want zero", bad, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "1.5d": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "-5m", "forever"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func env(params ...string) *Env {
	e := &Env{Event: Event{Provider: "TermService", EventID: 1009, Params: params, Data: map[string]string{"param1": "x"},
		Computer: "RDSH1", Time: time.Date(2021, 4, 1, 0, 0, 0, 0, time.UTC), Keywords: 0x8080000000000000, Version: 1, File: "System.evtx"}}
	e.Now = e.Time
	e.classes = classIndex{"grace_warning": {refOf("termservice", 1009): {}}}
	e.bind()
	return e
}

func TestEnvironment(t *testing.T) {
	cls := classIndex{"grace_warning": {}}
	cases := map[string]any{
		`Param(1)`:                                     "4/15/2021",
		`Param(3)`:                                     "",
		`HasParam(2) && !HasParam(3)`:                  true,
		`Data("param1") + Data["param1"]`:              "xx",
		`Is("grace_warning")`:                          true,
		`DaysUntil(ParseDate(Param(1)))`:               14.0,
		`Duration("2d").Hours()`:                       48.0,
		`Contains(Computer, "rdsh")`:                   true,
		`Lower(Provider) == "termservice"`:             true,
		`EventID == 1009 && Level == 0`:                true,
		`len(Params)`:                                  2,
		`DaysBetween(Time, Time.Add(Duration("36h")))`: 1.5,
	}
	for src, want := range cases {
		p, err := compileExpr(src, valueExpr, cls)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := p.Run(env("4/15/2021", "b"))
		if err != nil || got != want {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
}

// Rules cannot reach the clock, files, the network or the environment, and
// hostile expressions fail at compile time or within the budget.
func TestHostileExpressions(t *testing.T) {
	rejected := []string{
		`now()`, `date("2021-01-01", "2006-01-02", "Europe/Berlin")`, `timezone("Local")`,
		`repeat("x", 1000000000)`, `Is("no_such_class")`, `Param(1) + `, strings.Repeat("1+", 5000) + "1",
		`os.Getenv("HOME")`, `Env`, strings.Repeat("x", MaxExprLen+1),
		`Time.Local().Hour()`, `Time.In(Time.Location())`, `Now.Zone()`,
	}
	for _, src := range rejected {
		if _, err := compileExpr(src, valueExpr, classIndex{}); err == nil {
			t.Errorf("compiled: %.60s", src)
		}
	}
	budgeted := []string{
		`len(map(1..100000000, #))`,
		`reduce(1..10000, reduce(1..10000, #acc + 1, 0), 0)`,
		`let a = Param(1) + Param(1); let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; let g = f + f; let h = g + g; let i = h + h; let j = i + i; let k = j + j; let l = k + k; let m = l + l; let n = m + m; let o = n + n; len(o + o + o + o)`,
		`len(Join(map(1..5000, Param(1)), Param(1)))`,
		`len(Replace(Replace(Replace(Param(1), "a", Param(1)), "a", Param(1)), "a", Param(1)))`,
	}
	long := strings.Repeat("a", 1000)
	for _, src := range budgeted {
		p, err := compileExpr(src, valueExpr, classIndex{})
		if err != nil {
			continue // rejected up front is fine too
		}
		start := time.Now()
		if _, err := p.Run(env(long)); err == nil {
			t.Errorf("ran without hitting a budget: %.60s", src)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%.40s took %v", src, d)
		}
	}
}

func TestFilterDerivedFromRules(t *testing.T) {
	dir := t.TempDir()
	body := `
[[class]]
name = "stop"
events = [{ provider = "Microsoft-Windows-TerminalServices-Licensing", id = 3 }]
[[rule]]
id = "seq"
title = "t"
severity = "low"
confidence = 0.5
[rule.sequence]
window = "1h"
[[rule.sequence.steps]]
classes = ["stop"]
[[rule.sequence.steps]]
events = [{ provider = "TermService", id = 1028 }]
[[rule]]
id = "abs"
title = "t"
severity = "low"
confidence = 0.5
events = [{ provider = "TermService", id = 1009 }]
[rule.absence]
within = "1d"
expect = { events = [{ provider = "Service Control Manager", id = 7036 }] }
`
	os.WriteFile(filepath.Join(dir, "r.toml"), []byte(body), 0o644)
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []EventRef{{"microsoft-windows-terminalservices-licensing", 3}, {"service control manager", 7036}, {"termservice", 1009}, {"termservice", 1028}}
	if got := set.Selects(); len(got) != len(want) || got[0] != want[0] || got[3] != want[3] {
		t.Fatalf("Selects = %v", got)
	}
	f := set.Filter()
	for _, c := range []struct {
		p  string
		id uint16
		ok bool
	}{
		{"TermService", 1028, true}, {"termservice", 1009, true}, {"Service Control Manager", 7036, true},
		{"Microsoft-Windows-TerminalServices-Licensing", 3, true}, {"TermService", 1008, false},
		{"Microsoft-Windows-TerminalServices-Licensing", 1028, false}, {"Security", 4624, false},
	} {
		if f(c.p, c.id) != c.ok {
			t.Errorf("Filter(%s, %d) != %v", c.p, c.id, c.ok)
		}
	}
	var _ evtx.Filter = f
}

func TestMergeOverridesByID(t *testing.T) {
	dir := t.TempDir()
	base := `
[[class]]
name = "c"
events = [{ provider = "TermService", id = 1 }]
[[rule]]
id = "a"
title = "base a"
severity = "low"
confidence = 0.5
classes = ["c"]
[[rule]]
id = "b"
title = "base b"
severity = "low"
confidence = 0.5
classes = ["c"]
`
	user := `
[[rule]]
id = "a"
title = "user a"
severity = "high"
confidence = 0.5
classes = ["c"]
`
	os.WriteFile(filepath.Join(dir, "base.toml"), []byte(base), 0o644)
	os.WriteFile(filepath.Join(dir, "user.toml"), []byte(user), 0o644)
	b, err := Load(filepath.Join(dir, "base.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// The user file uses the base class: it loads over base, not alone.
	if _, err := Load(filepath.Join(dir, "user.toml")); err == nil || !strings.Contains(err.Error(), `unknown class "c"`) {
		t.Fatalf("standalone user file: %v", err)
	}
	u, err := LoadOver(b, filepath.Join(dir, "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Rules) != 2 || u.Rule("a").Title != "user a" || u.Rule("b").Title != "base b" {
		t.Fatalf("merged: %v", u.Rules)
	}
	m, err := Merge(nil, u)
	if err != nil || len(m.Rules) != 2 {
		t.Fatalf("merge: %v", err)
	}
	// Duplicates inside one layer are an error naming both places.
	os.WriteFile(filepath.Join(dir, "dup.toml"), []byte(user), 0o644)
	_, err = LoadOver(b, filepath.Join(dir, "user.toml"), filepath.Join(dir, "dup.toml"))
	var ps Problems
	if !errors.As(err, &ps) || !strings.Contains(err.Error(), "dup.toml:2: rule a: duplicate rule id (first defined at") {
		t.Fatalf("dup: %v", err)
	}
}

func TestSyntaxErrorNamesLineAndRule(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.toml")
	os.WriteFile(p, []byte("[[rule]]\nid = \"x\"\ntitle = \"t\"\nseverity = low\n"), 0o644)
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "s.toml:4: rule x:") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("[[rule]]\nid = \"x\"\nconfidence = \"high\"\n"), 0o644)
	_, err = Load(p)
	if err == nil || !strings.Contains(err.Error(), "s.toml:3") {
		t.Fatalf("type error: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing: cannot read") {
		t.Fatalf("missing: %v", err)
	}
}

func TestBuiltinLoads(t *testing.T) {
	set, err := Builtin()
	if err != nil {
		t.Fatalf("built-in pack does not lint clean:\n%v", err)
	}
	for _, r := range set.Rules {
		if len(r.Selects()) == 0 && !r.IsConfig() { // on = "config" rules select no event by design
			t.Errorf("%s selects nothing", r.ID)
		}
	}
}

func BenchmarkFilter(b *testing.B) {
	set, err := Builtin()
	if err != nil {
		b.Fatal(err)
	}
	f := set.Filter()
	recs := []struct {
		p  string
		id uint16
	}{{"Microsoft-Windows-Kernel-General", 16}, {"Service Control Manager", 7036}, {"Microsoft-Windows-TerminalServices-RemoteConnectionManager", 1128}, {"TermService", 1009}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := recs[i%len(recs)]
		f(r.p, r.id)
	}
}

func TestCfg(t *testing.T) {
	e := env("x")
	e.Config = map[string]string{"mode": "per-user", "license_servers": "LS1,LS2"}
	cases := map[string]any{
		`Cfg("mode")`:                              "per-user",
		`Cfg("license_servers")`:                   "LS1,LS2",
		`Cfg("grace_days_left")`:                   "",
		`Config["mode"] == "per-user"`:             true,
		`Cfg("mode") == "per-user" && EventID > 0`: true,
	}
	for src, want := range cases {
		p, err := compileExpr(src, condOr(want), classIndex{})
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got, err := p.Run(e); err != nil || got != want {
			t.Errorf("%s = %#v (%v), want %#v", src, got, err, want)
		}
	}
	// No configuration read at all: every name is unset.
	e.Config = nil
	p, _ := compileExpr(`Cfg("mode")`, valueExpr, classIndex{})
	if got, err := p.Run(e); err != nil || got != "" {
		t.Errorf(`Cfg("mode") without config = %#v (%v)`, got, err)
	}
	// Type-checked at load: wrong arity or argument type, or a non-bool
	// condition, is a compile error.
	for _, bad := range []string{`Cfg()`, `Cfg(1)`, `Cfg("a", "b")`} {
		if _, err := compileExpr(bad, valueExpr, classIndex{}); err == nil {
			t.Errorf("compiled: %s", bad)
		}
	}
	if _, err := compileExpr(`Cfg("mode")`, condExpr, classIndex{}); err == nil {
		t.Error(`Cfg("mode") accepted as a condition`)
	}
	// Facts see it too.
	f := &FactEnv{Env: *env("x")}
	f.Env.bind()
	f.Config = map[string]string{"mode": "per-device"}
	p, err := compileExpr(`Cfg("mode") + "/" + Last.Param(1)`, factExpr, classIndex{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Run(f); err != nil || got != "per-device/" {
		t.Errorf("fact = %#v (%v)", got, err)
	}
}

func condOr(want any) exprKind {
	if _, ok := want.(bool); ok {
		return condExpr
	}
	return valueExpr
}
