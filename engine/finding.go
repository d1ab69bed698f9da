// Package engine evaluates rules over a time-ordered event stream and emits
// ranked findings.
//
// This is one stage of the pipeline. To diagnose logs as `tsdiag scan` does
// (registry exports, knowledge base and report included), start at the root
// package, github.com/tsdiag/tsdiag: New, then Diagnoser.Scan.
package engine

import "time"

// Finding is one diagnosis the rules reached for one group (host, client,
// license server…). Its JSON field names are a public contract.
type Finding struct {
	ID         string            `json:"id"`   // diagnosis id, e.g. "grace-period-expired" (the kb article id)
	Rule       string            `json:"rule"` // rule id that fired
	Title      string            `json:"title"`
	Severity   string            `json:"severity"` // info, low, medium, high, critical
	Confidence float64           `json:"confidence"`
	Score      float64           `json:"score"`
	Rank       int               `json:"rank"`  // 1 = most important
	Group      map[string]string `json:"group"` // group_by expression label -> value, e.g. {"client": "WS-17"}
	Host       string            `json:"host"`  // Computer of the evidence, for per-host diagnosis
	FirstSeen  time.Time         `json:"first_seen"`
	LastSeen   time.Time         `json:"last_seen"`
	Count      int               `json:"count"`
	Facts      map[string]any    `json:"facts"`
	Evidence   []Evidence        `json:"evidence"`
	Timeline   []Bucket          `json:"timeline"` // one bucket per UTC day with matches
	KB         []string          `json:"kb"`
	// AlsoMatched lists other rules of the same diagnosis that fired for
	// the same incident; their findings are folded into this one.
	AlsoMatched []string `json:"also_matched,omitempty"`

	// Key identifies the incident: "diagnosis@host" plus "/label=value"
	// for each incident label beyond host (engine/incident.go). Unique
	// within one engine's findings.
	Key string `json:"key"`
	// Status is "active", "resolved" (trouble followed by recovery) or
	// "transient" (below the rule's persistence threshold). Resolved and
	// transient findings are info; OriginalSeverity keeps what the
	// severity would have been, and so does it when an incident takes a
	// worse severity from its symptoms.
	Status           string    `json:"status"`
	OriginalSeverity string    `json:"original_severity,omitempty"`
	ResolvedAt       time.Time `json:"resolved_at,omitzero"`
	LastedSeconds    float64   `json:"lasted_seconds,omitempty"`
	// CausedBy is the Key of the cause this finding is a symptom of;
	// Symptoms the Keys of the findings nested under this one. A symptom
	// follows its cause directly in the ranked list.
	CausedBy string   `json:"caused_by,omitempty"`
	Symptoms []string `json:"symptoms,omitempty"`

	// superseded marks a finding rewritten by supersede: it joins the
	// superseding diagnosis' incident but does not lead it.
	superseded bool
}

// Evidence points at one event that contributed to a finding.
type Evidence struct {
	File     string            `json:"file"`
	Offset   int64             `json:"offset"`
	RecordID uint64            `json:"record_id"`
	Time     time.Time         `json:"time"`
	Provider string            `json:"provider"`
	EventID  uint16            `json:"event_id"`
	Computer string            `json:"computer"`
	Values   map[string]string `json:"values,omitempty"` // key values (params, group values)
}

// Bucket counts matching events on one UTC day.
type Bucket struct {
	Day   time.Time `json:"day"`
	Count int       `json:"count"`
}

// EventIDs lists the distinct event ids of the evidence in first-seen order.
func (f *Finding) EventIDs() []int {
	var ids []int
	seen := map[uint16]bool{}
	for _, e := range f.Evidence {
		if !seen[e.EventID] {
			seen[e.EventID] = true
			ids = append(ids, int(e.EventID))
		}
	}
	return ids
}

// SpanDays is the time from the first to the last match, in days.
func (f *Finding) SpanDays() float64 {
	if f.FirstSeen.IsZero() || !f.LastSeen.After(f.FirstSeen) {
		return 0
	}
	return f.LastSeen.Sub(f.FirstSeen).Hours() / 24
}
