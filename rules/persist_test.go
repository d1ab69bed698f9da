package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeRule(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const persistHead = `
[[class]]
name = "down"
events = [{ provider = "RCM", id = 1131 }]
[[class]]
name = "up"
events = [{ provider = "Licensing", id = 0 }]
[[rule]]
id = "x"
title = "t"
severity = "high"
confidence = 0.9
classes = ["down"]
group_by = { host = "Computer", license_server = "Param(1)" }
`

func TestPersistAndRecoveryCompile(t *testing.T) {
	p := writeRule(t, persistHead+`
[rule.persist]
events = 3
over = "30m"
[rule.recovery]
classes = ["up"]
match = ["license_server"]
group_by = { license_server = "Computer" }
quiet = "1h"
`)
	set, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	r := set.Rules[0]
	if r.PersistEvents != 3 || r.PersistOver != 30*time.Minute || r.Recover == nil || r.Recover.Quiet != time.Hour ||
		len(r.Recover.Labels) != 1 || r.Recover.Labels[0].Name != "license_server" || r.Recover.Labels[0].Prog.Source != "Computer" {
		t.Fatalf("compiled %+v %+v", r.PersistEvents, r.Recover)
	}
	// The recovery's events reach the decoder and the engine.
	if !set.Filter()("licensing", 0) {
		t.Error("recovery events are not selected")
	}
}

func TestRecoveryDefaultsToTheRulesGroupBy(t *testing.T) {
	set, err := Load(writeRule(t, persistHead+`
[rule.recovery]
events = [{ provider = "Licensing", id = 0 }]
match = ["host"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if l := set.Rules[0].Recover.Labels; len(l) != 1 || l[0].Prog.Source != "Computer" {
		t.Fatalf("labels %+v", l)
	}
}

func TestPersistAndRecoveryProblems(t *testing.T) {
	_, err := Load(writeRule(t, persistHead+`
[rule.persist]
events = -1
over = "soon"
[rule.recovery]
match = ["client"]
group_by = { user = "Param(2)" }
quiet = "later"
[[rule.test]]
status = "gone"
fire = true
events = [{ provider = "RCM", id = 1131 }]
`))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	text := ps.Error()
	for _, want := range []string{
		"persist.events must not be negative",
		`persist.over: bad duration "soon"`,
		"recovery selects no events",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	_, err = Load(writeRule(t, persistHead+`
[rule.recovery]
classes = ["up"]
match = ["client"]
group_by = { user = "Param(2)" }
quiet = "later"
[[rule.test]]
status = "gone"
fire = true
events = [{ provider = "RCM", id = 1131 }]
`))
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	text = ps.Error()
	for _, want := range []string{
		`recovery.match label "client" is not in the rule's group_by`,
		`recovery.group_by label "user" is not in recovery.match`,
		`recovery.quiet: bad duration "later"`,
		`status "gone" must be active, resolved or transient`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
}

func TestZoneOf6013(t *testing.T) {
	for _, c := range []struct {
		params []string
		want   string
		ok     bool
	}{
		{[]string{"", "", "", "", "2233447", "480 Pacific Standard Time"}, "UTC-08:00 (Pacific Standard Time, from EventLog 6013)", true},
		{[]string{"", "", "", "", "86400", "60", "300 Eastern Standard Time"}, "UTC-05:00 (Eastern Standard Time, from EventLog 6013)", true},
		{[]string{"", "", "", "", "86400", "60", "-330 India Standard Time"}, "UTC+05:30 (India Standard Time, from EventLog 6013)", true},
		{[]string{"", "", "", "", "86400", "60", "0 Coordinated Universal Time"}, "UTC+00:00 (Coordinated Universal Time, from EventLog 6013)", true},
		{[]string{"", "", "", "", "86400"}, "", false},
		{[]string{"99999 Nowhere"}, "", false},
	} {
		z, ok := ZoneOf("EventLog", 6013, c.params)
		if ok != c.ok || (ok && z.Assumed() != c.want) {
			t.Errorf("%q: %v %q, want %v %q", c.params, ok, z.Assumed(), c.ok, c.want)
		}
	}
	if _, ok := ZoneOf("Other", 6013, []string{"300 Eastern Standard Time"}); ok {
		t.Error("another provider's 6013 read as a zone")
	}
	var none *Zone
	if none.Assumed() != "UTC (unknown)" {
		t.Error(none.Assumed())
	}
	est, _ := ZoneOf("EventLog", 6013, []string{"300 Eastern Standard Time"})
	if got := ParseLocalDate("3/15/2024", &est); !got.Equal(time.Date(2024, 3, 15, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("EST midnight = %v", got)
	}
	if got := ParseLocalDate("3/15/2024", nil); !got.Equal(time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("unknown zone = %v", got)
	}
	if !ParseLocalDate("not a date", &est).IsZero() {
		t.Error("bad date not zero")
	}
}

func TestCalTypeAndVersion(t *testing.T) {
	for _, c := range []struct{ in, typ, ver string }{
		{"Windows Server 2016 - RDS Per User CAL", "per-user", "2016"},
		{"Windows Server 2019 - RDS Per Device CAL", "per-device", "2019"},
		{"Windows Server 2008 R2 - Installable RDS Per Device CAL", "per-device", "2008r2"},
		{"Windows Server 2003 - Terminal Server Per Device CAL Token", "per-device", "2003"},
		{"Per  User", "per-user", ""},
		{"Windows Server 2003 - Terminal Server Per Session CAL", "per-session", "2003"},
		{"Built-in TS Per Device CAL", "per-device", ""},
		{"Existing Windows 2000 license", "", "2000"},
	} {
		if got := CalType(c.in); got != c.typ {
			t.Errorf("CalType(%q) = %q, want %q", c.in, got, c.typ)
		}
		if got := CalVersion(c.in); got != c.ver {
			t.Errorf("CalVersion(%q) = %q, want %q", c.in, got, c.ver)
		}
	}
}
