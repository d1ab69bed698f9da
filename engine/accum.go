package engine

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// Evidence is capped per finding: the first EvidenceHead events (how it
// started) and the last EvidenceTail (how it stands now). Count, FirstSeen,
// LastSeen and the timeline still cover every contributing event.
const (
	EvidenceHead      = 5
	EvidenceTail      = 20
	MaxDistinct       = 1000 // distinct values remembered for facts
	maxEvidenceParams = 16
	maxValueLen       = 512
)

// acc accumulates one (rule, group) finding.
type acc struct {
	rule     *rules.Compiled
	key      string
	labels   map[string]string
	count    int
	first    time.Time
	last     time.Time
	lastEv   *evtx.Event
	head     []*entry
	tail     []*entry // ring of EvidenceTail
	tailNext int
	days     map[int64]int
	values   map[string]struct{}
	// recovered is the first recovery event after the latest match (zero:
	// none); a later match makes it stale, which re-opens the finding.
	recovered   time.Time
	recoveredBy *evtx.Event
	// episodes counts the recoveries that ended a spell of trouble;
	// episodeStart is the first match of the current spell.
	episodes     int
	episodeStart time.Time
}

func newAcc(r *rules.Compiled, key string, labels map[string]string) *acc {
	return &acc{rule: r, key: key, labels: labels, days: map[int64]int{}}
}

func (a *acc) addOnce(en *entry) {
	if a == nil || en.added {
		return
	}
	en.added = true
	a.add(en)
}

func (a *acc) add(en *entry) {
	if a == nil {
		return
	}
	ev := en.ev
	t := ev.TimeCreated
	a.count++
	if a.first.IsZero() || t.Before(a.first) {
		a.first = t
	}
	if a.episodeStart.IsZero() || (!a.recovered.IsZero() && t.After(a.recovered) && !a.episodeStart.After(a.recovered)) {
		a.episodeStart = t
	}
	if !t.Before(a.last) {
		a.last, a.lastEv = t, ev
	}
	a.days[t.UTC().Truncate(24*time.Hour).Unix()]++
	if len(a.head) < EvidenceHead {
		a.head = append(a.head, en)
		return
	}
	if len(a.tail) < EvidenceTail {
		a.tail = append(a.tail, en)
		return
	}
	a.tail[a.tailNext] = en
	a.tailNext = (a.tailNext + 1) % EvidenceTail
}

func (a *acc) distinct(v string) {
	if a == nil {
		return
	}
	if a.values == nil {
		a.values = map[string]struct{}{}
	}
	if len(a.values) < MaxDistinct {
		a.values[v] = struct{}{}
	}
}

func (a *acc) evidence() []Evidence {
	kept := append([]*entry{}, a.head...)
	kept = append(kept, a.tail[a.tailNext:]...)
	kept = append(kept, a.tail[:a.tailNext]...)
	out := make([]Evidence, len(kept))
	for i, en := range kept {
		out[i] = evidenceOf(en)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func (a *acc) timeline() []Bucket {
	days := make([]int64, 0, len(a.days))
	for d := range a.days {
		days = append(days, d)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	out := make([]Bucket, len(days))
	for i, d := range days {
		out[i] = Bucket{Day: time.Unix(d, 0).UTC(), Count: a.days[d]}
	}
	return out
}

func (a *acc) finding(e *Engine, now time.Time) Finding {
	r := a.rule
	f := Finding{
		ID: r.Diagnosis, Rule: r.ID, Title: r.Title, Severity: r.Severity, Confidence: r.Confidence,
		Group: copyMap(a.labels), FirstSeen: a.first, LastSeen: a.last, Count: a.count,
		Evidence: a.evidence(), Timeline: a.timeline(), KB: append([]string{}, r.KB...),
	}
	if a.lastEv != nil {
		f.Host = a.lastEv.Computer
	}
	f.Facts = a.facts(e, now)
	streamNow := now
	if e.newest.After(streamNow) {
		streamNow = e.newest
	}
	a.applyStatus(&f, streamNow)
	return f
}

// facts evaluates the rule's facts over the finding; a fact whose
// expression fails is left out and counted as an evaluation error.
func (a *acc) facts(e *Engine, now time.Time) map[string]any {
	out := map[string]any{}
	if len(a.rule.Facts) == 0 || a.lastEv == nil {
		return out
	}
	env := e.set.NewFactEnv()
	env.Event = rules.EventOf(a.lastEv)
	env.Last = env.Event
	env.First = rules.EventOf(a.firstEvent())
	env.Now = now
	env.SetHostConfig(e.opts.Config, e.opts.HostConfig)
	env.Config = env.ConfigOf(a.lastEv.Computer)
	env.SetZone(e.zoneOf(a.lastEv.Computer))
	env.Count = a.count
	env.FirstSeen, env.LastSeen = a.first, a.last
	env.Groups = copyMap(a.labels)
	env.Distinct = a.distinctList()
	rs := e.stateOf(a.rule)
	for _, f := range a.rule.Facts {
		rs.run(func() {
			v, err := f.Prog.Run(env)
			if err != nil {
				rs.evalError(err)
				return
			}
			out[f.Name] = factValue(v)
		})
	}
	return out
}

// firstEvent is the earliest event kept as evidence (the head holds the
// first matches), else the last one.
func (a *acc) firstEvent() *evtx.Event {
	first := a.lastEv
	for _, en := range a.head {
		if en.t().Before(first.TimeCreated) {
			first = en.ev
		}
	}
	return first
}

// distinctList is the distinct values of a distinct rule, otherwise the
// group values.
func (a *acc) distinctList() []string {
	if a.values != nil {
		return sortedKeys(a.values)
	}
	var out []string
	for _, k := range sortedKeys(a.labels) {
		out = append(out, a.labels[k])
	}
	return out
}

// factValue makes a fact JSON-safe and stable: times as RFC 3339 text,
// non-finite numbers as nil, durations in days.
func factValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format(time.RFC3339)
	case time.Duration:
		return x.Hours() / 24
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	return v
}

// evidenceOf builds the evidence of one kept event; Values holds %1…%n as
// param1…, the group values by label and, for distinct rules, "value".
func evidenceOf(en *entry) Evidence {
	ev := en.ev
	vals := make(map[string]string, len(ev.Params)+len(en.labels)+1)
	for i, p := range ev.Params {
		if i >= maxEvidenceParams {
			break
		}
		vals["param"+itoa(i+1)] = clip(p)
	}
	for k, v := range en.labels {
		vals[k] = v
	}
	if en.value != "" {
		vals["value"] = clip(en.value)
	}
	return Evidence{File: ev.File, Offset: ev.Offset, RecordID: ev.RecordID, Time: ev.TimeCreated, Provider: ev.Provider,
		EventID: ev.EventID, Computer: ev.Computer, Values: vals}
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func clip(s string) string {
	if len(s) > maxValueLen {
		return s[:maxValueLen] + "…"
	}
	return s
}
