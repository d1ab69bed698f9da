package kb

import (
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/rules"
)

// Providers as Windows writes them.
const (
	pTS  = "TermService"
	pTSL = "TermServLicensing"
	pRCM = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	pLIC = "Microsoft-Windows-TerminalServices-Licensing"
	pSCM = "Service Control Manager"
	pLSM = "Microsoft-Windows-TerminalServices-LocalSessionManager"
)

// shape says how an era carries %1, %2…: the reference marks the 2008 R2–2016
// RCM shape UNCERTAIN, so those scenarios run in both plausible shapes.
type shape int

const (
	classic   shape = iota // 2000/2003 ReportEvent sources: unnamed Data strings
	unnamedQ               // 2008 R2–2016 legacy-coded RCM ids: Qualifiers 49152, unnamed Data
	eventXML               // manifest RCM: UserData/EventXML/Param1…
	namedData              // Licensing provider: Data Name="param1"…
)

type ev struct {
	provider string
	id       uint16
	at       time.Duration
	computer string
	params   []string
}

func at(d, h int) time.Duration { return time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour }

func e(provider string, id uint16, when time.Duration, computer string, params ...string) ev {
	return ev{provider, id, when, computer, params}
}

// record shapes one event the way its era writes it.
func record(x ev, rcmShape shape, base time.Time) writer.Record {
	r := writer.Record{Provider: x.provider, EventID: x.id, Level: 3, TimeCreated: base.Add(x.at), Computer: x.computer, Channel: "System"}
	s := rcmShape
	switch x.provider {
	case pTS, pTSL, pSCM:
		s = classic
		r.EventSourceName, r.Provider = x.provider, ""
		if x.provider != pSCM {
			r.Provider = x.provider
		}
	case pLIC, pLSM:
		s = namedData
	}
	var vals []writer.Value
	for _, p := range x.params {
		vals = append(vals, writer.String(p))
	}
	switch s {
	case classic:
		r.Qualifiers = 0
		r.Payload = writer.ClassicData(x.params...)
	case unnamedQ:
		r.Qualifiers = 49152
		r.Payload = writer.UnnamedData(vals...)
	case eventXML:
		r.Payload = writer.EventXML(vals...)
	case namedData:
		var pairs []any
		for i, v := range vals {
			pairs = append(pairs, fmt.Sprintf("param%d", i+1), v)
		}
		r.Payload = writer.NamedData(pairs...)
	}
	return r
}

// noise is background a real System log carries on every host.
func noise(hosts []string, days int) []ev {
	var out []ev
	for d := 0; d < days; d++ {
		for _, h := range hosts {
			out = append(out,
				e(pSCM, 7036, at(d, 1), h, "Windows Update", "running"),
				e(pSCM, 7036, at(d, 2), h, "Windows Update", "stopped"),
				e(pRCM, 1149, at(d, 9), h, "alice", "CONTOSO", "10.0.0.15"),
				e(pRCM, 261, at(d, 9), h, "RDP-Tcp"),
				e(pLSM, 21, at(d, 9), h, "CONTOSO\\alice", "2", "10.0.0.15"),
				e("Microsoft-Windows-Kernel-General", 16, at(d, 3), h, "1", "x"),
			)
		}
	}
	return out
}

type timeline struct {
	name      string
	diagnosis string            // expected first finding ("" = healthy)
	group     map[string]string // expected group of the first finding (subset)
	facts     map[string]any    // expected facts (subset; numbers within 0.5)
	shapes    []shape           // RCM shapes to run in
	events    []ev
}

func days(n int, f func(d int) []ev) []ev {
	var out []ev
	for d := 0; d < n; d++ {
		out = append(out, f(d)...)
	}
	return out
}

func cat(parts ...[]ev) []ev {
	var out []ev
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var both = []shape{unnamedQ, eventXML}
var modern = []shape{eventXML}

func scenarios() []timeline {
	h := []string{"RDSH01.contoso.com", "RDSH02.contoso.com"}
	return []timeline{
		{name: "healthy farm", shapes: both, events: noise(h, 10)},
		{name: "healthy license server", shapes: both, events: cat(noise(h, 3),
			[]ev{e(pLIC, 0, at(0, 0), "LS01.contoso.com"), e(pLIC, 4, at(0, 1), "LS01.contoso.com"), e(pLIC, 64, at(0, 2), "LS01.contoso.com"),
				e(pLIC, 4144, at(1, 9), "LS01.contoso.com", "a", "b", "alice", "CONTOSO"), e(pLIC, 44, at(2, 1), "LS01.contoso.com", "ESE error -1316 JET_errInvalidObject, Object is invalid for operation.")})},
		{name: "SC-03 countdown 2019", diagnosis: "grace-period-expiring", group: map[string]string{"host": "RDSH01.contoso.com"},
			facts: map[string]any{"days_left": 10.625}, shapes: modern,
			events: cat(noise(h, 4), days(4, func(d int) []ev {
				return []ev{e(pRCM, 50281, at(d, 0), h[0], "3/15/2024")}
			}))},
		{name: "SC-03 countdown then expiry 2016", diagnosis: "grace-period-expired", group: map[string]string{"host": "RDSH02.contoso.com"}, shapes: both,
			events: cat(noise(h, 20), days(14, func(d int) []ev {
				return []ev{e(pRCM, 1129, at(d, 0), h[1], "3/15/2024"), e(pRCM, 1130, at(d, 0), h[1])}
			}), []ev{e(pRCM, 1128, at(14, 0), h[1]), e(pRCM, 1128, at(15, 0), h[1])})},
		{name: "SC-03 Windows 2000 1009 then 1008", diagnosis: "grace-period-expired", group: map[string]string{"host": "W2KTS"}, shapes: both,
			events: cat(days(14, func(d int) []ev { return []ev{e(pTS, 1009, at(d, 0), "W2KTS", "1/15/2003")} }), []ev{e(pTS, 1008, at(14, 1), "W2KTS")})},
		{name: "SC-01 discovery failure then denials 2003", diagnosis: "no-license-server", group: map[string]string{"host": "TS01"}, shapes: both,
			facts: map[string]any{"discovery_failed": true},
			events: days(3, func(d int) []ev {
				return []ev{e(pTS, 1026, at(d, 8), "TS01", "CONTOSO"), e(pTS, 1004, at(d, 9), "TS01"), e(pTS, 1000, at(d, 9), "TS01", "bob", "CONTOSO")}
			})},
		{name: "SC-01 no license server specified 2019", diagnosis: "no-license-server", group: map[string]string{"host": "RDSH01.contoso.com"}, shapes: modern,
			events: cat(noise(h, 5), days(5, func(d int) []ev { return []ev{e(pRCM, 50282, at(d, 4), h[0])} }))},
		{name: "SC-02 license server stopped then unreachable", diagnosis: "license-server-unreachable", group: map[string]string{"license_server": "LS01"}, shapes: both,
			facts: map[string]any{"ls_stopped": true},
			events: cat(noise(h, 3), []ev{e(pLIC, 3, at(1, 10), "LS01.contoso.com"),
				e(pRCM, 1131, at(1, 11), h[0], "LS01"), e(pRCM, 1131, at(1, 12), h[1], "ls01.contoso.com"), e(pRCM, 1028, at(1, 12), h[0], "WS-17")})},
		{name: "SC-04 mode not configured after grace", diagnosis: "licensing-mode-not-configured", group: map[string]string{"host": "RDSH01.contoso.com"}, shapes: modern,
			events: cat(noise(h, 3), []ev{e(pRCM, 1068, at(0, 1), h[0]), e(pRCM, 1068, at(1, 1), h[0]), e(pRCM, 1069, at(2, 1), h[0])})},
		{name: "SC-05 mode mismatch", diagnosis: "licensing-mode-mismatch", group: map[string]string{"license_server": "LS01"}, shapes: both,
			events: cat(noise(h, 3), days(3, func(d int) []ev {
				return []ev{e(pLIC, 22, at(d, 9), "LS01.contoso.com", "LS01", "Windows Server 2016 - RDS Per User CAL", "RDSH01"), e(pRCM, 1004, at(d, 9), h[0])}
			}))},
		{name: "SC-06 pool exhausted then expiries", diagnosis: "cal-pool-exhausted", shapes: both,
			events: cat(noise(h, 2), days(5, func(d int) []ev {
				return []ev{e(pLIC, 21, at(d, 9), "LS01.contoso.com", "LS01", "Windows Server 2016 - RDS Per Device CAL", "RDSH01")}
			}), []ev{e(pRCM, 1011, at(92, 9), h[0], "WS-1"), e(pRCM, 1011, at(92, 10), h[0], "WS-2"), e(pRCM, 1011, at(93, 9), h[0], "WS-3")})},
		{name: "SC-07 one client's temporary CAL expired", diagnosis: "temporary-cal-expired", group: map[string]string{"client": "THIN-07"}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1011, at(2, 9), h[0], "THIN-07"), e(pRCM, 1011, at(2, 10), h[0], "THIN-07")})},
		{name: "SC-08 one client invalid license", diagnosis: "invalid-client-license", group: map[string]string{"client": "WS-17"}, facts: map[string]any{"client_count": 1}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1003, at(1, 9), h[0], "WS-17"), e(pRCM, 1003, at(1, 9), h[0], "WS-17")})},
		{name: "SC-08 many clients invalid license", diagnosis: "invalid-client-license", group: map[string]string{"host": "RDSH01.contoso.com"}, facts: map[string]any{"client_count": 4}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1003, at(1, 9), h[0], "WS-1"), e(pRCM, 1003, at(1, 10), h[0], "WS-2"), e(pRCM, 1003, at(1, 11), h[0], "WS-3"), e(pRCM, 1003, at(2, 9), h[0], "WS-4")})},
		{name: "SC-09 license server not activated", diagnosis: "license-server-not-activated", group: map[string]string{"license_server": "LS01.contoso.com"}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pLIC, 18, at(0, 1), "LS01.contoso.com", "LS01"), e(pLIC, 18, at(1, 1), "LS01.contoso.com", "LS01")})},
		{name: "SC-10 license server too old", diagnosis: "cal-version-incompatible", group: map[string]string{"license_server": "LS2012"}, shapes: modern,
			events: cat(noise(h, 3), []ev{e(pRCM, 50284, at(1, 9), h[0], "LS2012")})},
		{name: "SC-11 host certificate invalid", diagnosis: "rdsh-certificate-invalid", group: map[string]string{"host": "RDSH02.contoso.com"}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1133, at(1, 9), h[1])})},
		{name: "SC-12 per-user AD attributes", diagnosis: "per-user-cal-ad-attribute", group: map[string]string{"license_server": "LS01.contoso.com"}, facts: map[string]any{"removed_from_group": true}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pLIC, 76, at(0, 1), "LS01.contoso.com"), e(pLIC, 4105, at(1, 9), "LS01.contoso.com", "alice", "CONTOSO"), e(pLIC, 4105, at(1, 10), "LS01.contoso.com", "bob", "CONTOSO")})},
		{name: "SC-13 host not in license server group", diagnosis: "ls-security-group-rejected", group: map[string]string{"license_server": "LS01"}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1043, at(1, 9), h[0], "LS01"), e(pLIC, 4141, at(1, 9), "LS01.contoso.com", "RDSH01")})},
		{name: "SC-14 modern: retired server still configured (reported as unreachable)", diagnosis: "license-server-unreachable", group: map[string]string{"license_server": "OLDLS"}, shapes: both,
			events: cat(noise(h, 10), days(10, func(d int) []ev { return []ev{e(pRCM, 1131, at(d, 6), h[0], "OLDLS")} }))},
		{name: "SC-14 2003 DefaultLicenseServer pin", diagnosis: "license-server-pinned", group: map[string]string{"license_server": "OLDLS01"}, shapes: both,
			events: days(4, func(d int) []ev {
				return []ev{e(pTS, 1000, at(d, 8), "TS2003", "bob", "CONTOSO"), e(pTS, 1004, at(d, 8), "TS2003"),
					e(pTS, 1011, at(d, 9), "TS2003", fmt.Sprintf("WKS-%d", d), "OLDLS01", "Per Device")}
			})},
		{name: "SC-15 TSInternetUser", diagnosis: "internet-connector-account", group: map[string]string{"host": "W2KTS"}, shapes: both,
			events: []ev{e(pTS, 1007, at(0, 9), "W2KTS"), e(pTS, 1007, at(0, 10), "W2KTS")}},
		{name: "SC-16 thin clients 2003", diagnosis: "thin-client-firmware", group: map[string]string{"host": "TS2003"}, shapes: both,
			events: days(2, func(d int) []ev {
				return []ev{e(pTS, 1004, at(d, 8), "TS2003"), e(pTS, 1004, at(d, 9), "TS2003"), e(pTS, 1004, at(d, 10), "TS2003")}
			})},
		{name: "SC-17 license database", diagnosis: "license-db-problem", group: map[string]string{"license_server": "LS01.contoso.com"}, shapes: both,
			events: cat(noise(h, 2), []ev{e(pLIC, 9, at(1, 1), "LS01.contoso.com"), e(pLIC, 12, at(1, 1), "LS01.contoso.com")})},
		{name: "SC-18 migration leftovers", diagnosis: "cal-migration-leftovers", group: map[string]string{"source": "LS-OLD"}, shapes: both,
			events: cat(noise(h, 2), []ev{e(pLIC, 89, at(1, 1), "LS-NEW", "LS-OLD"), e(pLIC, 90, at(1, 2), "LS-NEW", "LS-OLD")})},
		{name: "ForwardedEvents: two hosts, two diagnoses", diagnosis: "rdsh-certificate-invalid", group: map[string]string{"host": "RDSH02.contoso.com"}, shapes: both,
			events: cat(noise(h, 3), []ev{e(pRCM, 1133, at(1, 9), h[1]), e(pRCM, 1003, at(1, 9), h[0], "WS-9")})},
	}
}

func (sc timeline) expect() scenarioExpect {
	return scenarioExpect{name: sc.name, diagnosis: sc.diagnosis, group: sc.group, facts: sc.facts}
}

var base = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// eventsOf turns a timeline into the events a decoder yields, in time order.
func eventsOf(sc timeline, s shape) []evtx.Event {
	evs := append([]ev(nil), sc.events...)
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at < evs[j].at })
	var out []evtx.Event
	for i, x := range evs {
		r := record(x, s, base)
		r.RecordID = uint64(i + 1)
		out = append(out, asDecoded(r))
	}
	return out
}

// asDecoded is the event a decoder yields for r: payload values in order in
// Params whatever the shape, names in Data for named and UserData shapes.
func asDecoded(r writer.Record) evtx.Event {
	e := evtx.Event{Provider: r.Provider, EventID: r.EventID, Qualifiers: r.Qualifiers, Level: r.Level,
		TimeCreated: r.TimeCreated.UTC(), RecordID: r.RecordID, Channel: r.Channel, Computer: r.Computer,
		Params: r.Payload.Params()}
	if e.Provider == "" {
		e.Provider = r.EventSourceName
	}
	if r.Payload.Shape == writer.Named || r.Payload.Shape == writer.UserData {
		e.Data = map[string]string{}
		for i, n := range r.Payload.Names {
			e.Data[n] = e.Params[i]
		}
	}
	return e
}

func diagnose(t *testing.T, set *rules.Set, evs []evtx.Event) []engine.Finding {
	t.Helper()
	en := engine.New(set, engine.Options{})
	for i := range evs {
		if err := en.Feed(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return en.Finish()
}

func TestScenariosRankTheirDiagnosisFirst(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	b := load(t)
	for _, sc := range scenarios() {
		for _, s := range sc.shapes {
			t.Run(fmt.Sprintf("%s/shape%d", sc.name, s), func(t *testing.T) {
				fs := diagnose(t, set, eventsOf(sc, s))
				checkScenario(t, b, sc.expect(), fs)
			})
		}
	}
}

// scenarioExpect is what a timeline's diagnosis must look like.
type scenarioExpect struct {
	name      string
	diagnosis string // "" = healthy: nothing above info
	group     map[string]string
	facts     map[string]any
}

func checkScenario(t *testing.T, b *Base, sc scenarioExpect, fs []engine.Finding) {
	t.Helper()
	if sc.diagnosis == "" {
		for _, f := range fs {
			if f.Severity != "info" {
				t.Errorf("healthy input gave %s (%s) %v", f.Rule, f.Severity, f.Group)
			}
		}
		return
	}
	if len(fs) == 0 {
		t.Fatalf("no finding, want %s", sc.diagnosis)
	}
	first := fs[0]
	if first.ID != sc.diagnosis {
		// A symptom nests under its cause, which leads the report: the
		// scenario's diagnosis may be a symptom of the first finding.
		s := symptomOfLead(fs, sc.diagnosis)
		if s == nil {
			t.Fatalf("first finding %s (%s), want %s (or a cause with it as symptom); all: %v", first.ID, first.Rule, sc.diagnosis, ids(fs))
		}
		first = *s
	}
	for k, v := range sc.group {
		if !engine.HasLabel(&first, k, v) {
			t.Errorf("group %s = %q, want %q (group %v)", k, first.Group[k], v, first.Group)
		}
	}
	for k, want := range sc.facts {
		got := first.Facts[k]
		if wf, ok := want.(float64); ok {
			gf, ok := toFloat(got)
			if !ok || math.Abs(gf-wf) > 0.5 {
				t.Errorf("fact %s = %v, want %v", k, got, want)
			}
			continue
		}
		if wi, ok := want.(int); ok {
			if gf, ok := toFloat(got); !ok || int(gf) != wi {
				t.Errorf("fact %s = %v, want %v", k, got, want)
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fact %s = %v, want %v", k, got, want)
		}
	}
	a, ok := b.Get(first.ID)
	if !ok || len(Rank(caseOf(first), a)) == 0 {
		t.Errorf("no ranked steps for %s", first.ID)
	}
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// symptomOfLead is the finding of diagnosis id nested under the first
// finding (its cause), or nil.
func symptomOfLead(fs []engine.Finding, id string) *engine.Finding {
	for i := 1; i < len(fs); i++ {
		if fs[i].ID == id && fs[i].CausedBy == fs[0].Key && fs[0].Key != "" {
			return &fs[i]
		}
	}
	return nil
}
