package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/rules"
)

// A live subscription delivers one channel's history before another's; the
// follower must hold batches until the source has caught up and then feed
// them in time order, or correlations would see the older events as late.
func TestLiveFollowerHoldsUntilCaughtUp(t *testing.T) {
	d, err := tsdiag.New(tsdiag.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Stream(tsdiag.StreamOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	wall := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	fol := &follower{st: st, filter: d.Filter(), pr: newFindingPrinter(&out, "text", nil),
		wall: func() time.Time { return wall }}
	mk := func(channel string, id uint16, day int, params ...string) *evtx.Event {
		return &evtx.Event{Provider: rcmProvider, EventID: id, Channel: channel, Computer: "RDSH01",
			TimeCreated: time.Date(2024, 3, 1+day, 3, 0, 0, 0, time.UTC), Params: params}
	}
	// "Admin" history arrives first and is newer than the "System" history.
	if err := fol.batch([]*evtx.Event{mk("Admin", 50280, 6), mk("Admin", 50280, 7)}); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed before catching up:\n%s", out.String())
	}
	var sys []*evtx.Event
	for d := 1; d <= 5; d++ {
		sys = append(sys, mk("System", 50281, d, "3/6/2024"))
	}
	if err := fol.batch(sys); err != nil {
		t.Fatal(err)
	}
	if err := fol.batch(nil); err != nil { // caught up
		t.Fatal(err)
	}
	if st := fol.st.Stats(); st.Late != 0 || fol.events != 7 {
		t.Fatalf("late %d, fed %d", st.Late, fol.events)
	}
	text := out.String()
	// The countdown's date (3/6) has passed: it is part of the expired
	// incident (warnings=5), not a separate "about to expire".
	if strings.Contains(text, "grace-period-expiring host=") {
		t.Errorf("a passed countdown printed as its own finding:\n%s", text)
	}
	for _, want := range []string{"grace-period-expired [grace-period-expired.after-countdown]", "warnings=5"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	// The plain expiry rule agrees with the countdown variant: one finding, not two.
	if strings.Contains(text, "grace-period-expired host=RDSH01") {
		t.Errorf("variant rules of one diagnosis printed twice:\n%s", text)
	}
}

// checkSelectsWithin asserts that every Select of q keeps within the
// expression limit, that every channel has Selects, and that together they
// select every (provider, id) of the rule set and nothing else.
func checkSelectsWithin(t *testing.T, q live.Query, set *rules.Set) []live.Select {
	t.Helper()
	sels, err := q.Selects()
	if err != nil {
		t.Fatal(err)
	}
	idTerm := regexp.MustCompile(`EventID=(\d+)|\(EventID>=(\d+) and EventID<=(\d+)\)`)
	provTerm := regexp.MustCompile(`Provider\[@Name='([^']+)'\]`)
	covered := map[string]map[live.Ref]bool{}
	for _, s := range sels {
		n := strings.Count(s.XPath, "=")
		if n > live.MaxExpressions || s.Expressions != n {
			t.Errorf("%s: %d expressions (Select says %d), limit %d: %s", s.Path, n, s.Expressions, live.MaxExpressions, s.XPath)
		}
		if covered[s.Path] == nil {
			covered[s.Path] = map[live.Ref]bool{}
		}
		// Each provider test owns the id terms up to the next provider test
		// (or the time test).
		locs := provTerm.FindAllStringSubmatchIndex(s.XPath, -1)
		for i, loc := range locs {
			end := len(s.XPath)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			seg, _, _ := strings.Cut(s.XPath[loc[1]:end], "TimeCreated")
			prov := s.XPath[loc[2]:loc[3]]
			for _, id := range idTerm.FindAllStringSubmatch(seg, -1) {
				lo, hi := id[1], id[1]
				if lo == "" {
					lo, hi = id[2], id[3]
				}
				a, _ := strconv.Atoi(lo)
				b, _ := strconv.Atoi(hi)
				for i := a; i <= b; i++ {
					covered[s.Path][live.Ref{Provider: prov, ID: uint16(i)}] = true
				}
			}
		}
	}
	want := map[live.Ref]bool{}
	for _, r := range q.Refs {
		want[r] = true
	}
	for _, ch := range q.Channels {
		if len(covered[ch]) != len(want) {
			t.Errorf("%s: the Selects name %d (provider, id) pairs, the rule set %d", ch, len(covered[ch]), len(want))
		}
		for r := range want {
			if !covered[ch][r] {
				t.Errorf("%s: %s %d not selected", ch, r.Provider, r.ID)
			}
		}
	}
	if len(set.Selects()) != len(want) {
		t.Errorf("query has %d refs, rule set selects %d", len(want), len(set.Selects()))
	}
	return sels
}

func TestLiveQueryFromBuiltinRules(t *testing.T) {
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	q := liveQuery(set, nil)
	q.Since = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) // the time test counts too
	if len(q.Channels) != len(live.Channels) {
		t.Fatalf("channels: %v", q.Channels)
	}
	sels := checkSelectsWithin(t, q, set)
	t.Logf("built-in pack: %d (provider, id) pairs in %d Selects over %d channels", len(q.Refs), len(sels), len(q.Channels))
	x, err := q.XML()
	if err != nil {
		t.Fatal(err)
	}
	// Windows' spelling, whatever case the rule set keeps names in.
	for _, p := range []string{"TermService", "TermServLicensing", "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
		"Microsoft-Windows-TerminalServices-Licensing", "Service Control Manager"} {
		if !strings.Contains(x, "Provider[@Name='"+p+"']") {
			t.Errorf("provider %s missing from the query:\n%s", p, x)
		}
	}
	if strings.Contains(x, "Provider[@Name='termservice']") {
		t.Errorf("lower-case provider name in the query")
	}
}

// A pack of 200 user rules, each on its own scattered event ids (no runs
// to fold into ranges), over the built-in pack: still every Select within
// the limit and every pair selected.
func TestLiveQueryFromLargeUserPack(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	provs := []string{"Contoso-Licensing-Agent", "Microsoft-Windows-TerminalServices-RemoteConnectionManager", "TermService", "Contoso-Gateway"}
	for i := 0; i < 200; i++ {
		p := provs[i%len(provs)]
		fmt.Fprintf(&b, "[[class]]\nname = \"user_c%d\"\nevents = [{ provider = %q, id = %d }, { provider = %q, id = %d }]\n\n", i, p, 20000+7*i, p, 40000+11*i)
		fmt.Fprintf(&b, "[[rule]]\nid = \"user-rule-%d\"\ntitle = \"user rule %d\"\nseverity = \"low\"\nconfidence = 0.5\nclasses = [\"user_c%d\"]\ngroup_by = { host = \"Computer\" }\n\n", i, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "user.toml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadOver(base, dir)
	if err != nil {
		t.Fatal(err)
	}
	q := liveQuery(set, []string{"System", "ForwardedEvents"})
	q.Since = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if len(q.Refs) < 400 {
		t.Fatalf("only %d refs from 200 rules", len(q.Refs))
	}
	sels := checkSelectsWithin(t, q, set)
	t.Logf("built-in + 200 user rules: %d (provider, id) pairs in %d Selects over %d channels", len(q.Refs), len(sels), len(q.Channels))
}

func TestLivePrintQuery(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"live", "--print-query", "--channel", "System"}, &out, &errOut)
	sels := strings.Count(out.String(), "<Select Path=\"System\">")
	if code != exitOK || !strings.HasPrefix(out.String(), "<QueryList>") || sels < 2 || sels != strings.Count(out.String(), "<Select ") ||
		!strings.Contains(out.String(), "Provider[@Name='TermService']") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}
