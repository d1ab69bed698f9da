package engine

import (
	"errors"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// Defaults for the reorder buffer. Events from several files arrive
// interleaved; within this horizon they are put back in time order.
const (
	DefaultReorder   = 10 * time.Minute
	DefaultMaxBuffer = 16384
)

// Options tune one engine run.
type Options struct {
	// Now is the reference time for facts such as days left; zero means the
	// newest event seen.
	Now time.Time
	// Since and Until drop events outside [Since, Until] (zero = open).
	Since, Until time.Time
	// Reorder is how far out of time order an event may arrive and still be
	// evaluated in order (zero = DefaultReorder); MaxBuffer caps the events
	// held for that (zero = DefaultMaxBuffer).
	Reorder   time.Duration
	MaxBuffer int
	// Config is the licensing configuration rules read with Cfg(name)
	// (regcfg.Config.Flat keys), for every host without its own entry in
	// HostConfig. HostConfig is keyed by host short name in upper case
	// (RDSH01 for rdsh01.contoso.local): a bundle of several servers'
	// exports gives each host its own. Both nil: Cfg is "" everywhere.
	Config     map[string]string
	HostConfig map[string]map[string]string
	// RuleBudget is the evaluation time a rule may spend in all before a
	// slow one is switched off (budget.go); zero means DefaultRuleBudget,
	// negative no limit.
	RuleBudget time.Duration
}

// HostKey is the form of a computer name HostConfig is keyed by: the short
// name in upper case (NetBIOS style).
func HostKey(computer string) string { return rules.HostKey(computer) }

// Stats counts what the engine saw.
type Stats struct {
	Events     int `json:"events"`      // events fed
	Skipped    int `json:"skipped"`     // outside --since/--until
	Matched    int `json:"matched"`     // events that matched at least one rule
	Late       int `json:"late"`        // arrived beyond the reorder horizon; evaluated at their own time
	EvalErrors int `json:"eval_errors"` // expression evaluations that failed (counted as no match)
	// AbsenceDropped counts absence starts not tracked because a group
	// already had MaxPendingPerGroup open.
	AbsenceDropped int `json:"absence_dropped,omitempty"`
	// Transient counts findings below their rule's persistence threshold.
	Transient  int    `json:"transient,omitempty"`
	FirstError string `json:"first_error,omitempty"`
	// Duplicates counts records recognised as seen before (the same file
	// twice, a copy in a bundle, overlapping rotated logs, an XML export of
	// an .evtx given beside it) and set aside; DuplicatesByFile splits it
	// by the input file (evtx.Event.File) the copy came from.
	Duplicates       int            `json:"duplicates"`
	DuplicatesByFile map[string]int `json:"duplicates_by_file,omitempty"`
	// DedupUnchecked counts selected records not remembered for duplicate
	// detection because MaxSeenRecords were already held: a later copy of
	// one of them would not be recognised.
	DedupUnchecked int `json:"dedup_unchecked,omitempty"`
	// GroupsOverflow counts events of a new group refused because its rule
	// already held MaxGroupsPerRule groups or the engine MaxGroups;
	// FindingsOverflow counts groups that fired but could not become a
	// finding (MaxFindingsPerRule, MaxFindings). OverflowRules names the
	// rules concerned. Either makes a scan incomplete: findings may be
	// missing, and the report says so.
	GroupsOverflow   int      `json:"groups_overflow,omitempty"`
	FindingsOverflow int      `json:"findings_overflow,omitempty"`
	OverflowRules    []string `json:"overflow_rules,omitempty"`
	// RuleProblems lists the rules whose evaluations failed or that were
	// switched off as slow or failing (budget.go); a switched-off rule
	// makes a scan incomplete.
	RuleProblems []RuleProblem `json:"rule_problems,omitempty"`
}

// Engine evaluates a rule set over a stream of events. It is not safe for
// concurrent use: feed it from one goroutine (an ordered merge).
type Engine struct {
	set  *rules.Set
	opts Options
	env  *rules.Env
	buf  eventHeap
	// bufBytes is what the buffered events hold (MaxBufferBytes).
	bufBytes int
	seq      uint64
	newest   time.Time // newest event fed
	// hostNewest is the newest event fed per Computer: a bundle mixing
	// hosts (or eras) counts each host's countdown from its own last event.
	hostNewest map[string]time.Time
	clock      time.Time // time of the newest event evaluated
	rules      []*ruleState
	index      map[indexKey][]*ruleState
	stats      Stats
	sweep      int
	groups     int // live groups, all rules (MaxGroups)
	accs       int // findings being built, all rules (MaxFindings)
	// lowered caches provider names in lower case (a log has few).
	lowered map[string]string
	// zones are the hosts' time zones their logs revealed (zone.go).
	zones map[string]*rules.Zone
	// builds are the hosts' OS builds their logs revealed (osbuild.go).
	builds map[string]hostBuild
	dedup  *dedup
	// byRule finds a rule's state from its compiled rule (stateOf).
	byRule map[*rules.Compiled]*ruleState
}

type indexKey struct {
	provider string
	id       uint16
}

// New builds an engine for set.
func New(set *rules.Set, opts Options) *Engine {
	if opts.Reorder <= 0 {
		opts.Reorder = DefaultReorder
	}
	if opts.MaxBuffer <= 0 {
		opts.MaxBuffer = DefaultMaxBuffer
	}
	e := &Engine{set: set, opts: opts, env: set.NewEnv(), index: map[indexKey][]*ruleState{}, lowered: map[string]string{}}
	e.env.SetHostConfig(opts.Config, opts.HostConfig)
	for _, r := range set.Rules {
		rs := newRuleState(e, r)
		e.rules = append(e.rules, rs)
		for _, ref := range selectsOf(r) {
			k := indexKey{ref.Provider, ref.ID}
			e.index[k] = append(e.index[k], rs)
		}
	}
	return e
}

// Stats returns the counts so far.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.RuleProblems = e.ruleProblems()
	return s
}

// Feed adds one event. The engine keeps the pointer until the event is
// evaluated, so the caller must not reuse it.
func (e *Engine) Feed(ev *evtx.Event) error {
	if ev == nil {
		return errors.New("engine: nil event")
	}
	e.stats.Events++
	t := ev.TimeCreated
	if (!e.opts.Since.IsZero() && t.Before(e.opts.Since)) || (!e.opts.Until.IsZero() && t.After(e.opts.Until)) {
		e.stats.Skipped++
		return nil
	}
	// Events no rule selects are not buffered; they only move stream time
	// (absence deadlines, the end-of-stream reference). Only selected
	// events are checked for duplicates: they are what rules count.
	selected := e.lookup(ev) != nil
	if selected && e.duplicate(ev) {
		return nil
	}
	if t.After(e.newest) {
		e.newest = t
	}
	e.noteHost(ev.Computer, t)
	e.noteZone(ev)
	e.noteBuild(ev)
	if selected {
		e.seq++
		e.push(queued{ev: ev, seq: e.seq, size: eventBytes(ev)})
	}
	for len(e.buf) > 0 && (len(e.buf) > e.opts.MaxBuffer || e.bufBytes > MaxBufferBytes || e.newest.Sub(e.buf[0].ev.TimeCreated) > e.opts.Reorder) {
		e.process(e.pop())
	}
	e.advance(e.safeTime())
	return nil
}

// safeTime is the stream time up to which every event has been evaluated:
// the reorder horizon, but never past the oldest buffered event.
func (e *Engine) safeTime() time.Time {
	t := e.newest.Add(-e.opts.Reorder)
	if len(e.buf) > 0 && e.buf[0].ev.TimeCreated.Before(t) {
		t = e.buf[0].ev.TimeCreated
	}
	return t
}

func (e *Engine) lookup(ev *evtx.Event) []*ruleState {
	p, ok := e.lowered[ev.Provider]
	if !ok {
		p = strings.ToLower(ev.Provider)
		if len(e.lowered) < 4096 {
			e.lowered[ev.Provider] = p
		}
	}
	return e.index[indexKey{p, ev.EventID}]
}

// process evaluates one event against every rule that selects it.
func (e *Engine) process(ev *evtx.Event) {
	t := ev.TimeCreated
	if t.Before(e.clock) {
		e.stats.Late++
	} else {
		e.advance(t)
	}
	e.env.Event = rules.EventOf(ev)
	e.env.Config = e.env.ConfigOf(ev.Computer)
	e.env.SetZone(e.zoneOf(ev.Computer))
	e.env.Now = e.opts.Now
	if e.env.Now.IsZero() {
		e.env.Now = e.clock
	}
	matched := false
	k := kept(ev) // what rules keep of it (retain.go); they evaluate ev whole
	for _, rs := range e.lookup(ev) {
		if rs.feedTimed(k) {
			matched = true
		}
	}
	if matched {
		e.stats.Matched++
	}
	if e.sweep++; e.sweep >= 4096 {
		e.sweep = 0
		for _, rs := range e.rules {
			rs.evict(e.clock)
		}
	}
}

// advance moves the evaluation clock, expiring absence deadlines.
func (e *Engine) advance(t time.Time) {
	if !t.After(e.clock) {
		return
	}
	e.clock = t
	for _, rs := range e.rules {
		if rs.rule.Kind == rules.KindAbsence {
			rs.expire(t, false)
		}
	}
}

func (e *Engine) evalError(err error) {
	e.stats.EvalErrors++
	if e.stats.FirstError == "" {
		e.stats.FirstError = err.Error()
	}
}

// Finish evaluates what is still buffered, closes absences at the end of
// the stream and returns the ranked findings.
func (e *Engine) Finish() []Finding {
	e.flush()
	e.advance(e.newest)
	for _, rs := range e.rules {
		if rs.rule.Kind == rules.KindAbsence {
			rs.expire(e.newest, true)
		}
	}
	return e.findings(e.reference(time.Time{}))
}

// Snapshot returns the ranked findings so far without ending the stream,
// for live mode: every buffered event is evaluated (a live source delivers
// in order), and when at is after the newest event the clock moves to at,
// so absence deadlines pass and countdowns shrink without new events. An
// absence whose deadline is exactly at does not fire yet.
func (e *Engine) Snapshot(at time.Time) []Finding {
	e.flush()
	if at.After(e.newest) {
		e.advance(at)
	} else {
		e.advance(e.newest)
	}
	return e.findings(e.reference(at))
}

// reference is the time facts and recency are relative to: --now, else the
// later of at and the newest event.
func (e *Engine) reference(at time.Time) time.Time {
	if !e.opts.Now.IsZero() {
		return e.opts.Now
	}
	if at.After(e.newest) {
		return at
	}
	return e.newest
}

func (e *Engine) flush() {
	for len(e.buf) > 0 {
		e.process(e.pop())
	}
}

func (e *Engine) findings(now time.Time) []Finding {
	var out []Finding
	for _, rs := range e.rules {
		for _, a := range rs.findingsInOrder() {
			out = append(out, a.finding(e, e.hostReference(a, now)))
		}
	}
	out = append(out, e.configFindings(now)...) // on = "config" rules (config.go)
	out = e.incidents(out, now)
	e.addBuilds(out)
	e.stats.Transient = countTransient(out)
	return out
}

// queued is a buffered event; seq keeps equal times in arrival order.
type queued struct {
	ev   *evtx.Event
	seq  uint64
	size int // eventBytes, for MaxBufferBytes
}

// eventHeap is a binary min-heap by (time, seq), written out rather than
// using container/heap so pushing and popping do not box every event.
type eventHeap []queued

func (h eventHeap) less(i, j int) bool {
	ti, tj := h[i].ev.TimeCreated, h[j].ev.TimeCreated
	if !ti.Equal(tj) {
		return ti.Before(tj)
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) push(q queued) {
	*h = append(*h, q)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *eventHeap) pop() queued {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a[n] = queued{}
	a = a[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && a.less(l, m) {
			m = l
		}
		if r < n && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

func (e *Engine) noteHost(host string, t time.Time) {
	if e.hostNewest == nil {
		e.hostNewest = map[string]time.Time{}
	}
	host = clip(host) // as kept events name it (retain.go)
	if _, known := e.hostNewest[host]; !known && len(e.hostNewest) >= maxHosts {
		return
	}
	if t.After(e.hostNewest[host]) {
		e.hostNewest[host] = t
	}
}

// hostReference is the time a finding's facts and recency count from:
// --now when given, the live clock when it has moved past the stream, else
// the newest event of the finding's own host.
func (e *Engine) hostReference(a *acc, now time.Time) time.Time {
	if !e.opts.Now.IsZero() || now.After(e.newest) || a.lastEv == nil {
		return now
	}
	if t, ok := e.hostNewest[a.lastEv.Computer]; ok {
		return t
	}
	return now
}
