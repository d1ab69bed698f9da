package engine

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// MaxPendingPerGroup caps the absence starts (A events) remembered per group;
// beyond it further As in that group are counted in Stats.AbsenceDropped
// and not tracked: the oldest pending A still fires, so only evidence is
// lost, never the finding.
const MaxPendingPerGroup = 1024

// entry is one matched event held in correlation state.
type entry struct {
	ev     *evtx.Event
	labels map[string]string // the group's values (shared, read-only)
	value  string            // the distinct value, for distinct rules
	added  bool              // already part of the finding
}

func (en *entry) t() time.Time { return en.ev.TimeCreated }

// ruleState is the correlation state of one rule: per-group state plus the
// finding accumulators of the groups that fired.
type ruleState struct {
	e      *Engine
	rule   *rules.Compiled
	groups map[string]*groupState
	accs   map[string]*acc
	queue  []*pending // absence starts in time order (deadline order)
	// byRecovery files the accumulators by their recovery.match labels.
	byRecovery map[string][]*acc
	cost       ruleCost // evaluation time and errors (budget.go)
}

type groupState struct {
	labels map[string]string
	last   time.Time
	recent []*entry          // count: the latest Threshold matches
	values map[string]*entry // distinct: value -> latest entry
	chains [][]*entry        // sequence: chains[k] = latest chain through step k
	open   []*pending        // absence: As not yet answered
}

type pending struct {
	entry
	group   *groupState
	key     string
	cleared bool
	fired   bool
}

func newRuleState(e *Engine, r *rules.Compiled) *ruleState {
	return &ruleState{e: e, rule: r, groups: map[string]*groupState{}, accs: map[string]*acc{}}
}

func selectsOf(r *rules.Compiled) []rules.EventRef { return r.Selects() }

// feed evaluates one event (the engine's env already holds it) and reports
// whether it matched any part of the rule.
func (rs *ruleState) feed(ev *evtx.Event) bool {
	r := rs.rule
	recovered := rs.recover(ev)
	return rs.feedMatch(ev, r) || recovered
}

func (rs *ruleState) feedMatch(ev *evtx.Event, r *rules.Compiled) bool {
	switch r.Kind {
	case rules.KindSequence:
		return rs.feedSequence(ev)
	case rules.KindAbsence:
		b := rs.match(r.Expect)
		a := rs.match(&r.Match)
		if !a && !b {
			return false
		}
		key, g := rs.group(ev)
		if g == nil {
			return false
		}
		if b {
			rs.answer(g, ev)
		}
		if a {
			rs.start(key, g, ev)
		}
		return true
	}
	if !rs.match(&r.Match) {
		return false
	}
	key, g := rs.group(ev)
	if g == nil {
		return false
	}
	en := &entry{ev: ev, labels: g.labels}
	switch r.Kind {
	case rules.KindCount:
		rs.feedCount(key, g, en)
	case rules.KindDistinct:
		rs.feedDistinct(key, g, en)
	default:
		rs.acc(key, g).add(en)
	}
	return true
}

func (rs *ruleState) match(m *rules.Matcher) bool {
	ok, err := m.Match(rs.e.env)
	if err != nil {
		rs.evalError(err)
	}
	return ok
}

// group evaluates group_by for the current event; nil when an expression
// failed (the event cannot be attributed).
func (rs *ruleState) group(ev *evtx.Event) (string, *groupState) {
	gb := rs.rule.GroupBy
	var buf [4]string
	vals := buf[:0]
	if len(gb) > len(buf) {
		vals = make([]string, 0, len(gb))
	}
	for _, g := range gb {
		v, err := g.Prog.String(rs.e.env)
		if err != nil {
			rs.evalError(err)
			return "", nil
		}
		vals = append(vals, clip(v)) // a group value is a name; a huge one must not pin memory per group
	}
	key := ""
	if len(vals) == 1 {
		key = vals[0]
	} else {
		key = strings.Join(vals, "\x1f")
	}
	g := rs.groups[key]
	if g == nil {
		if len(rs.groups) >= MaxGroupsPerRule || rs.e.groups >= MaxGroups {
			rs.overflow(&rs.e.stats.GroupsOverflow)
			return "", nil
		}
		rs.e.groups++
		g = &groupState{labels: map[string]string{}}
		for i, n := range gb {
			g.labels[n.Name] = vals[i]
		}
		rs.groups[key] = g
	}
	if ev.TimeCreated.After(g.last) {
		g.last = ev.TimeCreated
	}
	return key, g
}

func (rs *ruleState) acc(key string, g *groupState) *acc {
	a := rs.accs[key]
	if a == nil {
		if len(rs.accs) >= MaxFindingsPerRule || rs.e.accs >= MaxFindings {
			rs.overflow(&rs.e.stats.FindingsOverflow)
			return nil // its adds are no-ops
		}
		rs.e.accs++
		a = newAcc(rs.rule, key, g.labels)
		rs.accs[key] = a
		rs.indexRecovery(a)
	}
	return a
}

// feedCount keeps the latest Threshold matches; the group fires when they
// all fall within the window (inclusive). The span is taken over the whole
// ring so a late (out-of-horizon) event cannot make a wide span look short.
func (rs *ruleState) feedCount(key string, g *groupState, en *entry) {
	n := rs.rule.Threshold
	g.recent = append(g.recent, en)
	if len(g.recent) > n {
		copy(g.recent, g.recent[len(g.recent)-n:])
		g.recent = g.recent[:n]
	}
	if len(g.recent) == n && span(g.recent) <= rs.rule.Window {
		a := rs.acc(key, g)
		for _, x := range g.recent {
			a.addOnce(x)
		}
	}
}

func span(es []*entry) time.Duration {
	lo, hi := es[0].t(), es[0].t()
	for _, x := range es[1:] {
		if x.t().Before(lo) {
			lo = x.t()
		}
		if x.t().After(hi) {
			hi = x.t()
		}
	}
	return hi.Sub(lo)
}

// feedDistinct keeps the latest entry of each value inside the window.
func (rs *ruleState) feedDistinct(key string, g *groupState, en *entry) {
	v, err := rs.rule.Value.String(rs.e.env)
	if err != nil {
		rs.evalError(err)
		return
	}
	if g.values == nil {
		g.values = map[string]*entry{}
	}
	v = distinctKey(v) // held per value for the window: a huge one must not pin memory
	en.value = v
	if prev := g.values[v]; prev == nil || !en.t().Before(prev.t()) {
		g.values[v] = en
	}
	newest := en.t()
	for _, x := range g.values {
		if x.t().After(newest) {
			newest = x.t()
		}
	}
	for k, x := range g.values {
		if newest.Sub(x.t()) > rs.rule.Window {
			delete(g.values, k)
		}
	}
	if len(g.values) < rs.rule.Threshold {
		return
	}
	a := rs.acc(key, g)
	for _, k := range sortedKeys(g.values) {
		a.addOnce(g.values[k])
		a.distinct(k)
	}
	// Only Threshold values are ever needed to decide; drop the oldest.
	for len(g.values) > rs.rule.Threshold {
		delete(g.values, oldest(g.values))
	}
}

func oldest(m map[string]*entry) string {
	best := ""
	var bt time.Time
	for k, x := range m {
		if best == "" || x.t().Before(bt) || (x.t().Equal(bt) && k < best) {
			best, bt = k, x.t()
		}
	}
	return best
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// feedSequence advances the latest chain through each step; a chain is
// extended only while the event is within the window of the chain's first
// event. Steps are tried last to first so one event moves a chain at most
// one step.
func (rs *ruleState) feedSequence(ev *evtx.Event) bool {
	steps := rs.rule.Steps
	var buf [8]bool
	hits := buf[:0]
	if len(steps) > len(buf) {
		hits = make([]bool, 0, len(steps))
	}
	hits = hits[:len(steps)]
	any := false
	for i := range steps {
		hits[i] = rs.match(&steps[i])
		any = any || hits[i]
	}
	if !any {
		return false
	}
	key, g := rs.group(ev)
	if g == nil {
		return false
	}
	if g.chains == nil {
		g.chains = make([][]*entry, len(steps))
	}
	en := &entry{ev: ev, labels: g.labels}
	for k := len(steps) - 1; k >= 1; k-- {
		prev := g.chains[k-1]
		if !hits[k] || prev == nil || ev.TimeCreated.Sub(prev[0].t()) > rs.rule.Window ||
			ev.TimeCreated.Before(prev[len(prev)-1].t()) {
			continue
		}
		chain := append(append([]*entry{}, prev...), en)
		if k == len(steps)-1 {
			a := rs.acc(key, g)
			for _, x := range chain {
				a.addOnce(x)
			}
			for i := range g.chains {
				g.chains[i] = nil
			}
			return true
		}
		if cur := g.chains[k]; cur == nil || !cur[0].t().After(chain[0].t()) {
			g.chains[k] = chain
		}
	}
	if hits[0] {
		g.chains[0] = []*entry{en}
	}
	return true
}

// start records an absence start (A).
func (rs *ruleState) start(key string, g *groupState, ev *evtx.Event) {
	if len(g.open) >= MaxPendingPerGroup {
		rs.e.stats.AbsenceDropped++
		return
	}
	p := &pending{entry: entry{ev: ev, labels: g.labels}, group: g, key: key}
	g.open = append(g.open, p)
	rs.queue = append(rs.queue, p)
}

// answer clears every open A in the group that B follows within the limit.
func (rs *ruleState) answer(g *groupState, ev *evtx.Event) {
	keep := g.open[:0]
	for _, p := range g.open {
		d := ev.TimeCreated.Sub(p.t())
		if d >= 0 && d <= rs.rule.Window {
			p.cleared = true
			continue
		}
		keep = append(keep, p)
	}
	for i := len(keep); i < len(g.open); i++ {
		g.open[i] = nil
	}
	g.open = keep
}

// expire fires every open A whose deadline has passed: strictly before now
// while streaming (a B at exactly the deadline may still come), and at or
// before the last event at end of stream. The queue is in time order except
// for late events, so streaming stops at the first A still open and the
// final pass looks at every entry.
func (rs *ruleState) expire(now time.Time, final bool) {
	w := rs.rule.Window
	keep := rs.queue[:0]
	done := false
	for _, p := range rs.queue {
		d := now.Sub(p.t())
		due := d > w || (final && d == w)
		if done || !due {
			done = done || !final
			keep = append(keep, p)
			continue
		}
		if !p.cleared && !p.fired {
			p.fired = true
			rs.acc(p.key, p.group).addOnce(&p.entry)
			p.group.open = removePending(p.group.open, p)
		}
	}
	for i := len(keep); i < len(rs.queue); i++ {
		rs.queue[i] = nil
	}
	rs.queue = keep
}

func removePending(list []*pending, p *pending) []*pending {
	for i, x := range list {
		if x == p {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

// evict drops group state that can no longer contribute to a fire, so
// memory follows the number of groups active within a window, not the
// number ever seen.
func (rs *ruleState) evict(now time.Time) {
	w := rs.rule.Window
	for k, g := range rs.groups {
		if now.Sub(g.last) <= w {
			continue
		}
		if rs.rule.Kind == rules.KindAbsence && len(g.open) > 0 {
			continue
		}
		delete(rs.groups, k)
		rs.e.groups--
	}
}

// Bounds on correlation state: a crafted log with a million distinct
// client names must not grow memory without limit. A group holds up to a
// threshold's worth of events and a finding its evidence (~10 events), so
// the caps keep the state in tens of MB; a busy farm's live groups
// (evicted once older than the rule's window) stay below them, and a scan
// that reaches one says so and is incomplete.
const (
	MaxGroupsPerRule   = 10000
	MaxGroups          = 20000
	MaxFindingsPerRule = 2000
	MaxFindings        = 5000
)

// overflow counts one refused group or finding and names the rule once.
func (rs *ruleState) overflow(n *int) {
	*n++
	st := &rs.e.stats
	if !slices.Contains(st.OverflowRules, rs.rule.ID) {
		st.OverflowRules = append(st.OverflowRules, rs.rule.ID)
	}
}

func (rs *ruleState) findingsInOrder() []*acc {
	out := make([]*acc, 0, len(rs.accs))
	for _, k := range sortedKeys(rs.accs) {
		out = append(out, rs.accs[k])
	}
	return out
}
