package engine

import (
	"testing"
	"time"
)

const cfgRule = `
[[rule]]
id = "per-user-renewal"
title = "renewal failed while per-user"
severity = "high"
confidence = 0.9
classes = ["renew_failed"]
when = 'Cfg("mode") == "per-user"'
group_by = { host = "Upper(Computer)" }
facts = { mode = 'Cfg("mode")', servers = 'Cfg("license_servers")' }
`

// Conditions and facts read the configuration of the event's own host;
// hosts without one fall back to Options.Config, and nothing read means ""
// everywhere.
func TestCfgPerHostInConditionsAndFacts(t *testing.T) {
	set := ruleSet(t, cfgRule)
	feed := func(opts Options) []Finding {
		return run(t, set, opts,
			ev("TermService", 1028, 0, "rdsh01.contoso.local"),
			ev("TermService", 1028, time.Minute, "RDSH02"),
			ev("TermService", 1028, 2*time.Minute, "rdsh03"),
		)
	}
	if fs := feed(Options{}); len(fs) != 0 {
		t.Fatalf("no configuration: %d findings, want 0", len(fs))
	}
	fs := feed(Options{
		Config: map[string]string{"mode": "per-user", "license_servers": "LSDEFAULT"},
		HostConfig: map[string]map[string]string{
			"RDSH01": {"mode": "per-user", "license_servers": "LS1,LS2"},
			"RDSH02": {"mode": "per-device"},
		},
	})
	got := map[string]map[string]any{}
	for _, f := range fs {
		got[f.Group["host"]] = f.Facts
	}
	if len(got) != 2 || got["RDSH02"] != nil {
		t.Fatalf("findings for %v, want RDSH01.CONTOSO.LOCAL and RDSH03 (RDSH02 is per-device)", got)
	}
	if f := got["RDSH01.CONTOSO.LOCAL"]; f["mode"] != "per-user" || f["servers"] != "LS1,LS2" {
		t.Errorf("RDSH01 facts = %v, want its own configuration", f)
	}
	if f := got["RDSH03"]; f["servers"] != "LSDEFAULT" {
		t.Errorf("RDSH03 facts = %v, want the fallback configuration", f)
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{"rdsh01.contoso.local": "RDSH01", " RDSH02 ": "RDSH02", "": ""} {
		if got := HostKey(in); got != want {
			t.Errorf("HostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A rule test's config table reaches Cfg().
func TestRuleTestConfig(t *testing.T) {
	set := ruleSet(t, cfgRule+`
[[rule.test]]
name = "per-user"
fire = true
config = { mode = "per-user" }
facts = { mode = "per-user" }
events = [{ provider = "TermService", id = 1028, computer = "RDSH1" }]
[[rule.test]]
name = "no config"
fire = false
events = [{ provider = "TermService", id = 1028, computer = "RDSH1" }]
[[rule.test]]
name = "wrong expectation fails"
fire = false
config = { mode = "per-user" }
events = [{ provider = "TermService", id = 1028, computer = "RDSH1" }]
`)
	rs := RunTests(set)
	if len(rs) != 3 || !rs[0].Passed || !rs[1].Passed || rs[2].Passed {
		t.Fatalf("results = %+v", rs)
	}
}

// CfgOf reads the configuration of the host an event names (a license
// server's refusal naming the session host), with the same fallback.
func TestCfgOfNamedHost(t *testing.T) {
	set := ruleSet(t, `
[[rule]]
id = "refused-host-mode"
title = "t"
severity = "high"
confidence = 0.9
classes = ["renew_failed"]
when = 'CfgOf(Param(1), "mode") == "per-user"'
group_by = { host = "Param(1)" }
facts = { mode = 'CfgOf(Param(1), "mode")', own = 'Cfg("mode")' }
`)
	opts := Options{HostConfig: map[string]map[string]string{
		"RDSH01": {"mode": "per-user"}, "RDSH02": {"mode": "per-device"}, "LS01": {"mode": "per-device"},
	}}
	fs := run(t, set, opts,
		ev("TermService", 1028, 0, "ls01.contoso.local", "rdsh01.contoso.local"),
		ev("TermService", 1028, time.Minute, "LS01", "RDSH02"),
		ev("TermService", 1028, 2*time.Minute, "LS01", "RDSH09"),
	)
	if len(fs) != 1 || fs[0].Group["host"] != "rdsh01.contoso.local" || fs[0].Facts["mode"] != "per-user" || fs[0].Facts["own"] != "per-device" {
		t.Fatalf("findings = %+v", fs)
	}
}
