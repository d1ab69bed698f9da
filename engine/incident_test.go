package engine

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// One license server stopped: the per-host rule, the stop-then-unreachable
// sequence and six per-client renewal refusals are one incident.
func TestOneIncidentPerCauseWhenALicenseServerStops(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "multi-client-ls-stopped-2019"))
	un := byID(fs, "license-server-unreachable")
	if len(un) != 1 {
		t.Fatalf("%d license-server-unreachable findings, want 1: %v", len(un), keysOf(fs))
	}
	f := un[0]
	if f.Key != "license-server-unreachable@RDSH01/license_server=LS01" {
		t.Errorf("key %q", f.Key)
	}
	if len(f.Group) != 2 || f.Group["host"] != "RDSH01.contoso.local" || f.Group["license_server"] != "LS01.contoso.local" {
		t.Errorf("group %v, want only host and license_server", f.Group)
	}
	want := []string{"WKS-401", "WKS-402", "WKS-403", "WKS-404", "WKS-405", "WKS-406"}
	if got, _ := f.Facts["clients"].([]string); !slices.Equal(got, want) || f.Facts["client_count"] != 6 {
		t.Errorf("clients %v (%v), want %v", f.Facts["clients"], f.Facts["client_count"], want)
	}
	for _, r := range []string{"license-server-unreachable", "license-server-unreachable.after-stop", "license-server-unreachable.renewal"} {
		if r != f.Rule && !slices.Contains(f.AlsoMatched, r) {
			t.Errorf("rule %s neither carries (%s) nor is in AlsoMatched %v", r, f.Rule, f.AlsoMatched)
		}
	}
	if f.Severity != "critical" || f.Count != 160 {
		t.Errorf("severity %s count %d, want critical (the after-stop variant) and the 160 50283s counted once", f.Severity, f.Count)
	}
	if len(f.Evidence) > EvidenceHead+EvidenceTail {
		t.Errorf("%d evidence entries, cap %d", len(f.Evidence), EvidenceHead+EvidenceTail)
	}
}

// The pool-exhausted case printed 8 identical temporary-cal-expired: one
// incident for the host, nested under the exhausted pool.
func TestExhaustedPoolHasOneTemporaryCALIncident(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "cal-pool-exhausted-2016"))
	tmp := byID(fs, "temporary-cal-expired")
	if len(tmp) != 1 || tmp[0].Facts["client_count"] != 6 {
		t.Fatalf("temporary-cal-expired: %v", keysOf(tmp))
	}
	i := slices.IndexFunc(fs, func(f Finding) bool { return f.ID == "temporary-cal-expired" })
	c := slices.IndexFunc(fs, func(f Finding) bool { return f.Key == tmp[0].CausedBy })
	if c < 0 || fs[c].ID != "cal-pool-exhausted" || !slices.Contains(fs[c].Symptoms, tmp[0].Key) {
		t.Fatalf("temporary CALs not nested under the pool: %v, caused by %q", keysOf(fs), tmp[0].CausedBy)
	}
	if c > i {
		t.Errorf("cause at %d after its symptom at %d", c, i)
	}
	for j := c + 1; j < i; j++ {
		if fs[j].CausedBy != fs[c].Key {
			t.Errorf("%s between the cause and its symptom", fs[j].Key)
		}
	}
}

// The same story ranks the same in every era: no license server and a
// grace period that expired lead with the cause on 2003 and on 2019, the
// expiry nested right after it, the countdown folded into the expiry.
func TestSameStoryRanksTheSameInEveryEra(t *testing.T) {
	set := builtinSet(t)
	for _, era := range []string{"2003", "2019"} {
		t.Run(era, func(t *testing.T) {
			fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "story-no-license-server-grace-"+era))
			if len(fs) != 2 || fs[0].ID != "no-license-server" || fs[1].ID != "grace-period-expired" {
				t.Fatalf("findings %v, want no-license-server then grace-period-expired", keysOf(fs))
			}
			cause, sym := fs[0], fs[1]
			if sym.CausedBy != cause.Key || !slices.Equal(cause.Symptoms, []string{sym.Key}) {
				t.Errorf("link: caused_by %q, symptoms %v", sym.CausedBy, cause.Symptoms)
			}
			if cause.Severity != "critical" || cause.OriginalSeverity != "high" || cause.Rank != 1 || sym.Rank != 2 {
				t.Errorf("cause %s (was %s) rank %d, symptom rank %d", cause.Severity, cause.OriginalSeverity, cause.Rank, sym.Rank)
			}
			if !slices.Contains(sym.AlsoMatched, "grace-period-expiring") || sym.Rule == "grace-period-expiring" {
				t.Errorf("the passed countdown should fold into the expiry, not lead it: rule %s also %v", sym.Rule, sym.AlsoMatched)
			}
			if v, ok := cause.Facts["discovery_failed"]; ok && v != true {
				t.Errorf("discovery_failed=%v on a no-license-server finding", v)
			}
		})
	}
}

// A ForwardedEvents log of three hosts: two license servers stay two
// incidents, a host without trouble gives nothing, keys are unique.
func TestForwardedEventsOfSeveralHosts(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "ForwardedEvents.evtx", "multi-host-forwarded-2019"))
	if len(fs) == 0 || fs[0].Key != "no-license-server@RDSH21" || fs[1].CausedBy != fs[0].Key || fs[1].ID != "grace-period-expired" {
		t.Fatalf("lead: %v", keysOf(fs))
	}
	un := byID(fs, "license-server-unreachable")
	var keys []string
	for _, f := range un {
		keys = append(keys, f.Key)
		// Its only symptom is the same server's pinned finding, never the
		// other server's.
		pinned := strings.Replace(f.Key, "license-server-unreachable@", "license-server-pinned@", 1)
		if f.CausedBy != "" || len(f.Symptoms) > 1 || (len(f.Symptoms) == 1 && f.Symptoms[0] != pinned) {
			t.Errorf("%s linked to %q %v: only %s is its symptom", f.Key, f.CausedBy, f.Symptoms, pinned)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"license-server-unreachable@RDSH22/license_server=LSA", "license-server-unreachable@RDSH22/license_server=LSB"}) {
		t.Errorf("unreachable incidents %v, want one per license server", keys)
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if seen[f.Key] {
			t.Errorf("key %s twice", f.Key)
		}
		seen[f.Key] = true
		if strings.Contains(f.Key, "RDSH23") {
			t.Errorf("healthy RDSH23 has %s", f.Key)
		}
	}
}

// Two hosts with the same diagnosis are two incidents.
func TestTwoHostsStayTwoIncidents(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "license-server-unreachable-2016"))
	var keys []string
	for _, f := range byID(fs, "license-server-unreachable") {
		keys = append(keys, f.Key)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"license-server-unreachable@RDSH01/license_server=LS01", "license-server-unreachable@RDSH02/license_server=LS01"}) {
		t.Fatalf("incidents %v, want one per host", keys)
	}
}

// A healthy busy farm (extra background noise, and the log given twice)
// gives nothing above info.
func TestHealthyBusyFarmGivesNothing(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	for _, id := range []string{"healthy-2019-rdsh", "healthy-2003-ts", "healthy-2012r2-license-server"} {
		recs := scenarioRecords(t, id, func(s string) string {
			return strings.Replace(s, "per_day = ", "per_day = 4", 1) // e.g. 18 → 418 records per host per day
		})
		a := writeEVTX(t, filepath.Join(dir, id+".evtx"), recs)
		b := writeEVTX(t, filepath.Join(dir, id+"-copy.evtx"), recs)
		if fs, _ := scan(t, set, Options{}, a, b); len(aboveInfo(fs)) != 0 {
			t.Errorf("%s: %v", id, aboveInfo(fs))
		}
	}
}

// A countdown still running is "about to expire"; once its date has passed
// (here: --now a week later, nothing else logged) it becomes the expired
// incident, with the expired diagnosis' title.
func TestPassedCountdownBecomesTheExpiry(t *testing.T) {
	set := builtinSet(t)
	p := genFile(t, t.TempDir(), "x.evtx", "grace-period-expiring-2019")
	fs, _ := scan(t, set, Options{}, p)
	if len(fs) != 1 || fs[0].ID != "grace-period-expiring" || fs[0].Facts["days_left"].(float64) <= 0 {
		t.Fatalf("running countdown: %v", keysOf(fs))
	}
	later := fs[0].LastSeen.Add(14 * 24 * time.Hour)
	fs, _ = scan(t, set, Options{Now: later}, p)
	if len(fs) != 1 || fs[0].ID != "grace-period-expired" || fs[0].Rule != "grace-period-expiring" ||
		fs[0].Severity != "critical" || fs[0].Key != "grace-period-expired@RDSH02" {
		t.Fatalf("passed countdown: %+v", keysOf(fs))
	}
	if _, ok := fs[0].Facts["days_left"]; ok || fs[0].Facts["expired_since"] == nil {
		t.Errorf("expired incident says days_left %v, expired_since %v", fs[0].Facts["days_left"], fs[0].Facts["expired_since"])
	}
	if r := set.Rule("grace-period-expired"); fs[0].Title != r.Title {
		t.Errorf("title %q, want the expiry's %q", fs[0].Title, r.Title)
	}
}

// watch/live: Snapshot retires the countdown the same way once the clock
// passes its date.
func TestSnapshotRetiresAPassedCountdown(t *testing.T) {
	set := builtinSet(t)
	p := genFile(t, t.TempDir(), "x.evtx", "grace-period-expiring-2019")
	e := New(set, Options{})
	if _, err := source.Walk([]string{p}, source.Options{Filter: set.Filter()}, func(ev *evtx.Event) error { return e.Feed(ev) }); err != nil {
		t.Fatal(err)
	}
	now := e.newest
	if fs := e.Snapshot(now); len(fs) != 1 || fs[0].ID != "grace-period-expiring" {
		t.Fatalf("before the date: %v", keysOf(fs))
	}
	if fs := e.Snapshot(now.Add(10 * 24 * time.Hour)); len(fs) != 1 || fs[0].ID != "grace-period-expired" {
		t.Fatalf("after the date: %v", keysOf(fs))
	}
}

// Links only join what belongs together: a grace expiry on one host is not
// a symptom of an unreachable license server seen from other hosts, and an
// invalid client license is no symptom of anything.
func TestCausalLinkTraps(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	fs, _ := scan(t, set, Options{},
		genFile(t, dir, "a.evtx", "grace-period-expired-2003"),
		genFile(t, dir, "b.evtx", "license-server-unreachable-2016"),
		genFile(t, dir, "c.evtx", "invalid-client-license-2019"))
	for _, id := range []string{"grace-period-expired", "invalid-client-license"} {
		for _, f := range byID(fs, id) {
			if f.CausedBy != "" {
				t.Errorf("%s linked to %s", f.Key, f.CausedBy)
			}
		}
	}
	if len(byID(fs, "grace-period-expired")) != 1 || len(byID(fs, "grace-period-expiring")) != 0 {
		t.Errorf("grace: %v", keysOf(fs))
	}
}

// Facts without a value are not printed: a 2016 1028 names no license
// server, so the renewal incident has no license_server="" fact.
func TestNoEmptyFacts(t *testing.T) {
	set := builtinSet(t)
	for _, id := range []string{"license-server-unreachable-2016", "temporary-cal-expired-2019", "cal-pool-exhausted-2016", "multi-client-ls-stopped-2019"} {
		fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", id))
		for _, f := range fs {
			for k, v := range f.Facts {
				if s, ok := v.(string); (ok && strings.TrimSpace(s) == "") || v == nil {
					t.Errorf("%s: %s: fact %s has no value", id, f.Key, k)
				}
			}
		}
	}
}

// Thousands of clients refused on one host are one incident whose count of
// clients is exact while its list stays capped.
func TestManyClientsFoldIntoOneIncident(t *testing.T) {
	set := builtinSet(t)
	e := New(set, Options{})
	at := time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)
	n := MaxDistinct + 200
	for i := 0; i < n; i++ {
		e.Feed(&evtx.Event{Provider: rcm, EventID: 1011, TimeCreated: at.Add(time.Duration(i) * time.Second),
			Computer: "RDSH01", Params: []string{"WS-" + strings.Repeat("0", 5-len(itoa(i))) + itoa(i)}, RecordID: uint64(i + 1), File: "x"})
	}
	fs := e.Finish()
	if len(fs) != 1 || fs[0].Facts["client_count"] != n || len(fs[0].Facts["clients"].([]string)) != MaxDistinct || fs[0].Count != n {
		t.Fatalf("%v: count %d, client_count %v", keysOf(fs), fs[0].Count, fs[0].Facts["client_count"])
	}
	if _, ok := fs[0].Facts["client"]; ok {
		t.Error("singular client fact kept beside many clients")
	}
}

// Two cases merged into one report (scan --separate) keep unique keys and
// links that still point inside their own case.
func TestQualifyKeysAcrossCases(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	p := genFile(t, dir, "a.evtx", "story-no-license-server-grace-2019")
	a, _ := scan(t, set, Options{}, p)
	b, _ := scan(t, set, Options{}, p)
	taken := map[string]bool{}
	QualifyKeys(a, taken, " (a)")
	QualifyKeys(b, taken, " (b)")
	if a[0].Key != "no-license-server@RDSH01" || b[0].Key != "no-license-server@RDSH01 (b)" ||
		b[1].CausedBy != b[0].Key || b[0].Symptoms[0] != b[1].Key || a[1].CausedBy != a[0].Key {
		t.Fatalf("a %v / %q, b %v / %q %v", keysOf(a), a[1].CausedBy, keysOf(b), b[1].CausedBy, b[0].Symptoms)
	}
}

// A cause that recovered does not explain a symptom still active: the
// symptom keeps its own place instead of hiding under an info finding.
func TestRecoveredCauseDoesNotExplainActiveSymptom(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "story-no-license-server-grace-2019"))
	if len(fs) != 2 || fs[1].CausedBy == "" {
		t.Fatalf("%v", keysOf(fs))
	}
	// As the persistence/recovery rules report it: the cause resolved.
	for i := range fs {
		fs[i].CausedBy, fs[i].Symptoms, fs[i].OriginalSeverity = "", nil, ""
	}
	fs[0].Status, fs[0].Severity = "resolved", "info"
	link(set, fs)
	if fs[1].CausedBy != "" || len(fs[0].Symptoms) != 0 {
		t.Fatalf("active expiry linked to the resolved cause: %q %v", fs[1].CausedBy, fs[0].Symptoms)
	}
	out := order(fs, fs[0].LastSeen)
	if out[0].ID != "grace-period-expired" || out[0].Severity != "critical" {
		t.Fatalf("order %v", keysOf(out))
	}
}

// An exhausted pool on the license server is one incident, whether seen
// in the server's own 21s or in a session host's "21 then 1011"; the
// session hosts' refusals (1011 expiries on RDSH02, 1004 on RDSH01) both
// nest under it, and neither symptom claims the other.
func TestExhaustedPoolIsOneIncidentWithEverySymptom(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "cal-pool-exhausted-2016"))
	pool := byID(fs, "cal-pool-exhausted")
	if len(pool) != 1 || pool[0].Key != "cal-pool-exhausted@LS01" {
		t.Fatalf("pool incidents: %v", keysOf(pool))
	}
	want := []string{"temporary-cal-expired@RDSH02", "cal-pool-running-low@LS01/license_server=LS01", "cannot-issue-client-license@RDSH01"}
	if !slices.Equal(pool[0].Symptoms, want) {
		t.Errorf("pool symptoms %v, want %v", pool[0].Symptoms, want)
	}
	for _, f := range fs {
		if f.CausedBy != "" && len(f.Symptoms) > 0 {
			t.Errorf("%s is a symptom of %s and lists symptoms %v", f.Key, f.CausedBy, f.Symptoms)
		}
	}
	if hosts, _ := pool[0].Facts["session_hosts"].([]string); len(hosts) != 2 {
		t.Errorf("session hosts %v, want RDSH01 and RDSH02", pool[0].Facts["session_hosts"])
	}
}

// A stopped license server is every host's trouble: both session hosts
// that lost LS01 get the critical after-stop incident (it used to go to the
// host of the last 1131 only, the other one stayed HIGH), and "pinned to a
// server that never answers" nests under each host's unreachable incident
// instead of standing beside it as a second alarm.
func TestStoppedServerReachesEveryHostIncident(t *testing.T) {
	set := builtinSet(t)
	fs, _ := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "license-server-unreachable-2016"))
	un := byID(fs, "license-server-unreachable")
	if len(un) != 2 {
		t.Fatalf("unreachable incidents: %v", keysOf(un))
	}
	for _, f := range un {
		if f.Severity != "critical" || f.Rule != "license-server-unreachable.after-stop" || f.CausedBy != "" {
			t.Errorf("%s: %s by %s, caused by %q", f.Key, f.Severity, f.Rule, f.CausedBy)
		}
		host := strings.TrimPrefix(strings.Split(f.Key, "/")[0], "license-server-unreachable@")
		if want := "license-server-pinned@" + host + "/license_server=LS01"; !slices.Contains(f.Symptoms, want) {
			t.Errorf("%s: symptoms %v, want %s", f.Key, f.Symptoms, want)
		}
	}
	for _, f := range byID(fs, "license-server-pinned") {
		if f.CausedBy == "" {
			t.Errorf("%s stands beside the unreachable incident", f.Key)
		}
	}
}

// A count fact (refusals = "Count") is totalled like the count when an
// incident folds several groups of one rule: a mixed farm's license server
// refused 40 per-user and 40 per-device CALs, one incident of 80 refusals
// (it said refusals=40 beside its 80 events). The trap: one CAL type, whose
// other rules' members (21 then 1011 per session host) must not add to it.
func TestFoldedIncidentTotalsItsCountFacts(t *testing.T) {
	set := builtinSet(t)
	dir := t.TempDir()
	fs, _ := scan(t, set, Options{}, genFile(t, dir, "mixed.evtx", "mixed-farm-2019"))
	pool := byID(fs, "cal-pool-exhausted")
	if len(pool) != 1 || pool[0].Facts["cal_type_count"] != 2 {
		t.Fatalf("mixed farm: %v", keysOf(fs))
	}
	if pool[0].Count != 80 || pool[0].Facts["refusals"] != 80 {
		t.Errorf("mixed farm: count %d, refusals %v; want 80 and 80", pool[0].Count, pool[0].Facts["refusals"])
	}
	fs, _ = scan(t, set, Options{}, genFile(t, dir, "one.evtx", "cal-pool-exhausted-2016"))
	pool = byID(fs, "cal-pool-exhausted")
	if len(pool) != 1 || pool[0].Count != 250 || pool[0].Facts["refusals"] != 250 {
		t.Fatalf("one CAL type: %v, count %d, refusals %v; want 250 and 250", keysOf(pool), pool[0].Count, pool[0].Facts["refusals"])
	}
}

// A list fact and its count agree, and a singular fact never stands beside
// a list of several, in every built-in scenario: licensing-mode-mismatch-2012r2
// said cal_type_count=1 beside cal_types=[per-device refused per-user issued]
// (the other-type rule's own Distinct fact under the folded list's name).
func TestListFactsAgreeWithTheirCounts(t *testing.T) {
	set := builtinSet(t)
	all, err := scenario.Load(scenario.Builtin)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, sc := range all {
		fs, _ := scan(t, set, Options{}, genFile(t, dir, sc.ID+".evtx", sc.ID))
		for _, f := range fs {
			for k, v := range f.Facts {
				base, ok := strings.CutSuffix(k, "_count")
				if !ok {
					continue
				}
				list, isList := f.Facts[base+"s"].([]string)
				n, _ := v.(int)
				if !isList || (len(list) != n && len(list) < MaxDistinct) {
					t.Errorf("%s: %s: %s=%v beside %ss=%v", sc.ID, f.Key, k, v, base, f.Facts[base+"s"])
				}
				if single, ok := f.Facts[base]; ok && len(list) > 1 {
					t.Errorf("%s: %s: %s=%v beside %d %ss", sc.ID, f.Key, base, single, len(list), base)
				}
			}
		}
	}
}
