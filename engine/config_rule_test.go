package engine

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

const modeConfigRule = `
[[rule]]
id = "mode-unset.config"
diagnosis = "mode-unset"
on = "config"
title = "mode not configured"
severity = "medium"
confidence = 0.9
when = 'Cfg("mode") == "not-configured"'
facts = { mode = 'Cfg("licensing_mode")', host = "Computer" }

[[rule]]
id = "mode-unset.failing"
diagnosis = "mode-unset"
title = "mode not configured and renewals fail"
severity = "high"
confidence = 0.9
classes = ["renew_failed"]
when = 'Cfg("mode") == "not-configured"'
group_by = { host = "Computer" }
`

var unset = map[string]string{"mode": "not-configured", "licensing_mode": "5"}

func hostsOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Group["host"]+"="+f.Severity)
	}
	return out
}

// A configuration rule fires once per host configuration without any
// licensing event, names the host as its events spell it, and an event rule
// of the same diagnosis on the same host makes one finding of the worse
// severity.
func TestConfigRuleHosts(t *testing.T) {
	set := ruleSet(t, modeConfigRule)
	cases := []struct {
		name string
		opts Options
		evs  []string // computers logging an unrelated event (LS service start)
		fail string   // computer logging a renewal failure
		want string
	}{
		{"nothing read", Options{}, []string{"RDSH01"}, "", ""},
		{"scan-wide, no event", Options{Config: unset}, nil, "", ScanWideHost + "=medium"},
		{"scan-wide, every logged host", Options{Config: unset}, []string{"RDSH02", "rdsh01.contoso.local"}, "",
			"RDSH02=medium,rdsh01.contoso.local=medium"},
		{"per host, spelled as logged", Options{HostConfig: map[string]map[string]string{
			"RDSH01": unset, "RDSH02": {"mode": "per-user"}, "RDSH09": unset}},
			[]string{"rdsh01.contoso.local", "RDSH02"}, "", "RDSH09=medium,rdsh01.contoso.local=medium"},
		{"one export of no named host, one logged host", Options{Config: unset,
			HostConfig: map[string]map[string]string{"LICENSING": unset}}, []string{"RDSH05"}, "", "RDSH05=medium"},
		{"one export of no named host, two logged hosts", Options{Config: unset,
			HostConfig: map[string]map[string]string{"LICENSING": unset}}, []string{"RDSH05", "RDSH06"}, "", "LICENSING=medium"},
		{"seen failing too: one finding, high", Options{HostConfig: map[string]map[string]string{"RDSH01": unset}},
			nil, "RDSH01", "RDSH01=high"},
	}
	for _, c := range cases {
		var evs []*evtx.Event
		for i, h := range c.evs {
			evs = append(evs, ev("Microsoft-Windows-TerminalServices-Licensing", 0, time.Duration(i)*time.Minute, h))
		}
		if c.fail != "" {
			evs = append(evs, ev("TermService", 1028, time.Hour, c.fail, "WS1"))
		}
		fs := run(t, set, c.opts, evs...)
		if got := strings.Join(sorted(hostsOf(fs)), ","); got != c.want {
			t.Errorf("%s: findings %q, want %q", c.name, got, c.want)
		}
		for _, f := range fs {
			if f.Rule == "mode-unset.config" && (f.Count != 1 || f.Facts["mode"] != "5" || f.Facts["host"] != f.Host) {
				t.Errorf("%s: config finding %+v", c.name, f)
			}
			if f.Severity == "high" && (len(f.AlsoMatched) != 1 || f.AlsoMatched[0] != "mode-unset.config") {
				t.Errorf("%s: also matched %v, want the config rule", c.name, f.AlsoMatched)
			}
		}
	}
}

// Live mode asks for findings without ending the stream: the configuration
// rule answers there too.
func TestConfigRuleSnapshot(t *testing.T) {
	e := New(ruleSet(t, modeConfigRule), Options{Config: unset})
	at := t0.Add(time.Hour)
	fs := e.Snapshot(at)
	if len(fs) != 1 || fs[0].Host != ScanWideHost || !fs[0].LastSeen.Equal(at) {
		t.Fatalf("snapshot: %+v", fs)
	}
}

func TestConfigRuleLoadProblems(t *testing.T) {
	for body, want := range map[string]string{
		`on = "config"` + "\nclasses = [\"x\"]": "selects no events",
		`on = "startup"`:                        `only accepted value is "config"`,
		`on = "config"` + "\n[rule.count]\nthreshold = 2\nwindow = \"1h\"": "no count",
		`on = "config"` + "\n[[rule.test]]\nname = \"t\"\nfire = true":     "fires only on a config",
	} {
		src := "[[class]]\nname = \"x\"\nevents = [{ provider = \"P\", id = 1 }]\n[[rule]]\nid = \"r\"\ntitle = \"t\"\nseverity = \"low\"\nconfidence = 0.5\n" + body + "\n"
		p := filepath.Join(t.TempDir(), "r.toml")
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := rules.Load(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", body, err, want)
		}
	}
}

func sorted(s []string) []string { sort.Strings(s); return s }
