package kb

import (
	"slices"
	"strings"
	"testing"
)

const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

func TestErasOfEvent(t *testing.T) {
	cases := []struct {
		provider string
		id       int
		want     []string
	}{
		{"TermService", 1010, []string{"2000", "2003"}},
		{"TermServLicensing", 21, []string{"2000", "2003"}},
		{rcm, 1010, []string{"2008"}},
		{rcm, 1130, []string{"2008r2", "2012", "2012r2", "2016"}},
		{rcm, 1043, []string{"2008", "2008r2", "2012", "2012r2", "2016"}},
		{rcm, 50282, []string{"2019", "2022", "2025"}},
		{rcm, 50195, []string{"2019", "2022", "2025"}},
		{rcm, 1003, []string{"2008", "2008r2", "2012", "2012r2", "2016", "2019", "2022", "2025"}},
		// RCM's legacy source name with an id only RCM has.
		{"TermService", 1131, []string{"2008r2", "2012", "2012r2", "2016"}},
		{"TermService", 50283, []string{"2019", "2022", "2025"}},
		// The license server's own provider and SCM say nothing of the host.
		{"Microsoft-Windows-TerminalServices-Licensing", 21, nil},
		{"Service Control Manager", 7036, nil},
	}
	for _, c := range cases {
		if got := ErasOfEvent(c.provider, c.id); !slices.Equal(got, c.want) {
			t.Errorf("%s %d: %v, want %v", c.provider, c.id, got, c.want)
		}
	}
}

func TestErasOf(t *testing.T) {
	// 1003 says 2008 or later; 1130 narrows to 2008 R2–2016.
	era, eras := ErasOf("RDSH01", []Seen{{rcm, 1003, "RDSH01"}, {rcm, 1130, "rdsh01.contoso.com"}}, 0)
	if era != "" || !slices.Equal(eras, []string{"2008r2", "2012", "2012r2", "2016"}) {
		t.Errorf("1003+1130: %q %v", era, eras)
	}
	// Another host's events do not decide this host's version.
	_, eras = ErasOf("RDSH01", []Seen{{rcm, 50282, "RDSH09"}, {rcm, 1130, "RDSH01"}}, 0)
	if !slices.Equal(eras, []string{"2008r2", "2012", "2012r2", "2016"}) {
		t.Errorf("other host's 50282 leaked in: %v", eras)
	}
	// Upgraded in place: 1130 first, 50282 later → the newer version.
	_, eras = ErasOf("RDSH01", []Seen{{rcm, 1130, "RDSH01"}, {rcm, 50282, "RDSH01"}}, 0)
	if !slices.Equal(eras, []string{"2019", "2022", "2025"}) {
		t.Errorf("upgrade: %v", eras)
	}
	// A logged build pins one version.
	if era, eras = ErasOf("RDSH01", []Seen{{rcm, 50282, "RDSH01"}}, 20348); era != "2022" || !slices.Equal(eras, []string{"2022"}) {
		t.Errorf("build 20348: %q %v", era, eras)
	}
	if BuildOf(map[string]any{"build": "17763.1234"}) != 17763 || BuildOf(map[string]any{"os_build": 14393.0}) != 14393 || BuildOf(nil) != 0 {
		t.Error("BuildOf")
	}
	// The license server's events alone leave the era unknown.
	if era, eras = ErasOf("LS01", []Seen{{"Microsoft-Windows-TerminalServices-Licensing", 21, "LS01"}}, 0); era != "" || eras != nil {
		t.Errorf("license server events: %q %v", era, eras)
	}
}

// Steps for other eras are left out; where the era is unknown they are kept
// and marked; a step that fits only some of the possible eras is marked.
func TestRankFiltersByEra(t *testing.T) {
	a := Article{ID: "x", Windows: []string{"2000", "2003", "2019"}, Steps: []Step{
		{ID: "old", Phase: PhaseFix, Windows: []string{"2003"}, Likelihood: 0.5},
		{ID: "w2k", Phase: PhaseFix, Windows: []string{"2000"}, Likelihood: 0.5},
		{ID: "new", Phase: PhaseFix, Windows: []string{"2019"}, Likelihood: 0.5},
		{ID: "any", Phase: PhaseFix, Likelihood: 0.5},
	}}
	unsure := func(rs []RankedStep) map[string]bool {
		m := map[string]bool{}
		for _, s := range rs {
			m[s.ID] = s.EraUnsure
		}
		return m
	}
	got := unsure(Rank(Case{Eras: []string{"2000", "2003"}}, a))
	if len(got) != 3 || !got["old"] || !got["w2k"] || got["any"] {
		t.Errorf("2000/2003 log: %v", got)
	}
	got = unsure(Rank(Case{Eras: []string{"2019", "2022", "2025"}}, a))
	if len(got) != 2 || !got["new"] || got["any"] {
		t.Errorf("2019+ log: %v (new fits 2019 only, so it is marked)", got)
	}
	got = unsure(Rank(Case{Era: "2019", Eras: []string{"2019"}}, a))
	if len(got) != 2 || got["new"] {
		t.Errorf("build-pinned 2019: %v", got)
	}
	got = unsure(Rank(Case{}, a))
	if len(got) != 4 || !got["old"] || !got["new"] || got["any"] {
		t.Errorf("unknown era: %v", got)
	}
}

func TestPlaceholdersFromTheFinding(t *testing.T) {
	c := Case{Host: "RDSH01.contoso.com", Group: map[string]string{"license_server": "LS01"},
		Facts: map[string]any{"clients": []any{"WS-1"}, "cal_type": "Per Device", "target_mode": "per user"}}
	v := Placeholders(c)
	want := map[string]string{"host": "RDSH01.contoso.com", "license-server": "LS01", "client": "WS-1", "cal-type": "Per Device", "mode": "4"}
	for k, w := range want {
		if v[k] != w {
			t.Errorf("<%s> = %q, want %q", k, v[k], w)
		}
	}
	if got := Fill(`GetTStoLSConnectivityStatus("<license-server>") on <host> for <client>, <unknown>`, v); got != `GetTStoLSConnectivityStatus("LS01") on RDSH01.contoso.com for WS-1, <unknown>` {
		t.Errorf("Fill: %s", got)
	}
	// Two clients: no single <client>; a mode that is not per user or per
	// device is not guessed.
	v = Placeholders(Case{Facts: map[string]any{"clients": []any{"WS-1", "WS-2"}, "mode": "5"}})
	if _, ok := v["client"]; ok {
		t.Errorf("<client> filled from two clients: %q", v["client"])
	}
	if _, ok := v["mode"]; ok {
		t.Errorf("<mode> filled from %q", v["mode"])
	}
}

// <mode> is the mode a fix sets. The host's current mode (fact "mode", as
// per-user-mode-on-workgroup reports it) must never fill it: that finding's
// "set the host to per device" step rendered ChangeMode(4), the mode a
// workgroup host may not use.
func TestModePlaceholderIsTheTargetNotTheCurrentMode(t *testing.T) {
	if v := Placeholders(Case{Facts: map[string]any{"mode": "per-user"}}); v["mode"] != "" {
		t.Errorf("<mode> filled from the host's current mode: %q", v["mode"])
	}
	v := Placeholders(Case{Facts: map[string]any{"mode": "per-user", "target_mode": "per-device"}})
	if v["mode"] != "2" {
		t.Fatalf("<mode> = %q, want 2 from target_mode", v["mode"])
	}
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	a, ok := b.Get("per-user-mode-on-workgroup")
	if !ok {
		t.Fatal("no per-user-mode-on-workgroup article")
	}
	for _, s := range a.Steps {
		if s.ID != "set-per-device" {
			continue
		}
		f := fillStep(s, v)
		if len(f.Commands) == 0 || !strings.Contains(f.Commands[0].Run, "ChangeMode(2)") {
			t.Errorf("set-per-device renders %v, want ChangeMode(2)", f.Commands)
		}
		if strings.Contains(f.Detail, "Replace 2 with 2") || !strings.Contains(f.Detail, "(2) must be 2") {
			t.Errorf("detail reads wrong once filled: %s", f.Detail)
		}
		return
	}
	t.Error("no set-per-device step")
}

func TestErasText(t *testing.T) {
	for _, c := range []struct {
		eras []string
		want string
	}{
		{[]string{"2003"}, "Windows Server 2003"},
		{[]string{"2008r2", "2012", "2012r2", "2016"}, "Windows Server 2008 R2 to 2016"},
		{[]string{"2000", "2003", "2019"}, "Windows 2000 Server to Windows Server 2003, Windows Server 2019"},
		{nil, "all versions"},
	} {
		if got := ErasText(c.eras); got != c.want {
			t.Errorf("%v: %q, want %q", c.eras, got, c.want)
		}
	}
}

// A name from a crafted log that is not a plain name stays a placeholder, so
// no command an administrator pastes can carry it.
func TestPlaceholdersRefuseInjectedNames(t *testing.T) {
	for _, bad := range []string{`LS01"; Remove-Item C:\ -Recurse; "`, "LS01 & del /q *", "$(whoami)", "LS01\nshutdown /s", ""} {
		v := Placeholders(Case{Host: bad, Group: map[string]string{"license_server": bad, "client": bad}})
		for _, k := range []string{"host", "license-server", "client"} {
			if got, ok := v[k]; ok {
				t.Errorf("<%s> filled from %q: %q", k, bad, got)
			}
		}
	}
	v := Placeholders(Case{Host: "rdsh01.contoso.com", Group: map[string]string{"license_server": "10.0.0.5", "cal_type": "Windows Server 2016 - RDS Per Device CAL"}})
	if v["host"] != "rdsh01.contoso.com" || v["license-server"] != "10.0.0.5" || v["cal-type"] != "Windows Server 2016 - RDS Per Device CAL" {
		t.Errorf("plain names must be filled: %v", v)
	}
}

// A finding from the license server's own events (grouped by license_server,
// its Computer the license server): <host> is the session host, so it stays
// unfilled rather than naming the license server; ls-security-group-rejected
// rendered "Add LS01.contoso.local's computer account to RDS Endpoint
// Servers on LS01.contoso.local".
func TestHostPlaceholderIsNotTheLicenseServer(t *testing.T) {
	for _, c := range []struct{ host, ls string }{
		{"LS01.contoso.local", "LS01.contoso.local"}, {"ls01", "LS01.contoso.local"}, {"LS01.contoso.local", "LS01"},
	} {
		v := Placeholders(Case{Host: c.host, Group: map[string]string{"license_server": c.ls}})
		if got, ok := v["host"]; ok {
			t.Errorf("host %s, license server %s: <host> filled with %q", c.host, c.ls, got)
		}
	}
	v := Placeholders(Case{Host: "RDSH01.contoso.local", Group: map[string]string{"license_server": "LS01.contoso.local"}})
	if v["host"] != "RDSH01.contoso.local" {
		t.Errorf("a session host finding naming its license server: <host> = %q", v["host"])
	}
	if v := Placeholders(Case{Host: "LS01.fabrikam.local", Group: map[string]string{"license_server": "LS01.contoso.local"}}); v["host"] != "LS01.fabrikam.local" {
		t.Errorf("two full names in different domains are two machines: <host> = %q", v["host"])
	}
}
