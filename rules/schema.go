// Package rules defines the rule file format, loads and validates rule
// files, and embeds the built-in rule pack.
//
// To run rules over logs as `tsdiag scan` does, start at the root package,
// github.com/tsdiag/tsdiag: New (Config.RuleDirs, Config.NoBuiltin), then
// Diagnoser.Scan.
package rules

// File is one TOML rule file. A file may hold event classes, rules, or both.
type File struct {
	Classes []Class `toml:"class"`
	Rules   []Rule  `toml:"rule"`
	// Diagnoses declare incident labels, causal links and supersession
	// per diagnosis (rules/diagnosis.go).
	Diagnoses []Diagnosis `toml:"diagnosis"`
}

// Class gives one meaning a name across Windows eras, e.g. "grace_expired"
// = TermService 1008, RemoteConnectionManager 1128, RemoteConnectionManager
// 50280. Rules select events by class so they say what they mean once.
type Class struct {
	Name        string     `toml:"name"`
	Description string     `toml:"description"`
	Events      []EventRef `toml:"events"`
}

// EventRef names one (provider, event id) pair. Provider matches the
// event's Provider exactly (case-insensitive).
type EventRef struct {
	Provider string `toml:"provider"`
	ID       uint16 `toml:"id"`
}

// Rule is one diagnosis pattern.
type Rule struct {
	ID          string   `toml:"id"`        // unique; "<diagnosis>" or "<diagnosis>.<variant>"
	Diagnosis   string   `toml:"diagnosis"` // kb article id this rule diagnoses; defaults to ID
	Title       string   `toml:"title"`
	Severity    string   `toml:"severity"` // info, low, medium, high, critical
	Description string   `toml:"description"`
	KB          []string `toml:"kb"`
	Confidence  float64  `toml:"confidence"` // 0..1

	// Select: the events this rule can ever match. Classes and explicit
	// events are unioned. The decoder's filter is derived from these, so
	// every rule must select something.
	Classes []string   `toml:"classes"`
	Events  []EventRef `toml:"events"`
	// When further narrows selected events: an expr condition over one event.
	When string `toml:"when"`

	// GroupBy: label -> expr evaluated on each matching event, e.g.
	// { host = "Computer", client = "Param(1)" }.
	GroupBy map[string]string `toml:"group_by"`

	// At most one correlation; none means every matching event counts and
	// the rule fires once per group.
	Count    *Count    `toml:"count"`
	Sequence *Sequence `toml:"sequence"`
	Absence  *Absence  `toml:"absence"`
	Distinct *Distinct `toml:"distinct"`

	// Facts: name -> expr evaluated when the finding is built; the
	// expression sees the last matching event plus Count, FirstSeen,
	// LastSeen, Now and Distinct (list of distinct group values).
	Facts map[string]string `toml:"facts"`

	// Persist and Recovery keep transient trouble from raising an alarm
	// (see persist.go).
	Persist  *Persist  `toml:"persist"`
	Recovery *Recovery `toml:"recovery"`

	Tests []Test `toml:"test"`

	// On = "config": a configuration rule (config.go). It selects no
	// event; its when is evaluated once per host configuration at the end
	// of a scan (and at each live snapshot) with Cfg() that host's and
	// Computer the host.
	On string `toml:"on"`
}

// Count fires when at least Threshold matching events fall within Window.
type Count struct {
	Threshold int    `toml:"threshold"`
	Window    string `toml:"window"` // Go duration or "Nd"
}

// Sequence fires when its steps match in order within Window (per group).
type Sequence struct {
	Window string `toml:"window"`
	Steps  []Step `toml:"steps"`
}

// Step is one stage of a sequence or absence.
type Step struct {
	Classes []string   `toml:"classes"`
	Events  []EventRef `toml:"events"`
	When    string     `toml:"when"`
}

// Absence fires when the rule's selected event (A) is not followed by
// Expect (B) in the same group within Within. A pending A at end of stream
// fires only if the stream's last event is at least Within after A.
type Absence struct {
	Expect Step   `toml:"expect"`
	Within string `toml:"within"`
}

// Distinct fires when at least Threshold distinct values of Value are seen
// within Window (per group).
type Distinct struct {
	Value     string `toml:"value"`
	Threshold int    `toml:"threshold"`
	Window    string `toml:"window"`
}

// Test is an inline rule test: a list of events and what must happen.
type Test struct {
	Name   string            `toml:"name"`
	Events []TestEvent       `toml:"events"`
	Now    string            `toml:"now"` // optional reference time (RFC 3339)
	Fire   bool              `toml:"fire"`
	Group  map[string]string `toml:"group"` // expected group of the first finding
	Count  int               `toml:"count"` // expected count (0 = not checked)
	Facts  map[string]any    `toml:"facts"` // expected facts (subset)
	// Status is the expected status of the finding ("active", "resolved",
	// "transient"); "" is not checked.
	Status string `toml:"status"`
	// Config is the licensing configuration Cfg() sees, for every host
	// (e.g. { mode = "per-user" }); nil: none read.
	Config map[string]string `toml:"config"`
}

// TestEvent is an event written as a table in a rule test.
type TestEvent struct {
	Provider   string            `toml:"provider"`
	ID         uint16            `toml:"id"`
	Qualifiers uint16            `toml:"qualifiers"`
	Level      uint8             `toml:"level"`
	Time       string            `toml:"time"` // RFC 3339
	Computer   string            `toml:"computer"`
	Channel    string            `toml:"channel"`
	Params     []string          `toml:"params"`
	Data       map[string]string `toml:"data"`
}
