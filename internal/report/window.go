package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

// Window is the time window a scan applied and what it set aside. The
// counts are of licensing events: those the rules' filter selects (every
// other record is skipped before its time is read).
type Window struct {
	Since, Until time.Time // zero = open
	Before       int       // licensing events before Since, set aside
	After        int       // licensing events after Until, set aside
	Kept         int       // licensing events in the window
	Newest       time.Time // newest licensing event read, in the window or not
	// Cases holds each case's own window under --separate, where a relative
	// since counts back from each case's newest event: one Since would be
	// wrong for every case but the last.
	Cases []CaseWindow
}

// CaseWindow is one --separate case's window and what it set aside.
type CaseWindow struct {
	Input         string
	Since, Until  time.Time
	Before, After int
}

// SetAside is how many licensing events the window set aside.
func (w Window) SetAside() int { return w.Before + w.After }

// AllSetAside tells whether the window set aside every licensing event
// read: nothing was diagnosed, which must not read as a clean pass.
func (w Window) AllSetAside() bool { return w.SetAside() > 0 && w.Kept == 0 }

// Note says how many licensing events the window set aside and why; ""
// when it set aside none.
func (w Window) Note() string {
	if w.SetAside() == 0 {
		return ""
	}
	if len(w.Cases) > 0 {
		return w.casesNote()
	}
	var why []string
	if w.Before > 0 {
		why = append(why, fmt.Sprintf("%s before %s (--since)", thousands(w.Before), stamp(w.Since)))
	}
	if w.After > 0 {
		why = append(why, fmt.Sprintf("%s after %s (--until)", thousands(w.After), stamp(w.Until)))
	}
	if w.AllSetAside() {
		return fmt.Sprintf("the time window set aside all %s: %s; newest licensing event %s; nothing was diagnosed",
			plural(w.SetAside(), "licensing event"), strings.Join(why, ", "), stamp(w.Newest))
	}
	return fmt.Sprintf("the time window set aside %s: %s", plural(w.SetAside(), "licensing event"), strings.Join(why, ", "))
}

// casesNote is Note for --separate: each case that set events aside, with
// its own since.
func (w Window) casesNote() string {
	var parts []string
	for _, c := range w.Cases {
		var why []string
		if c.Before > 0 {
			why = append(why, fmt.Sprintf("%s before %s", thousands(c.Before), stamp(c.Since)))
		}
		if c.After > 0 {
			why = append(why, fmt.Sprintf("%s after %s", thousands(c.After), stamp(c.Until)))
		}
		if len(why) > 0 {
			parts = append(parts, c.Input+": "+strings.Join(why, ", "))
		}
	}
	head := fmt.Sprintf("the time window set aside %s, each case from its own newest event", plural(w.SetAside(), "licensing event"))
	if w.AllSetAside() {
		head = fmt.Sprintf("the time window set aside all %s, each case from its own newest event", plural(w.SetAside(), "licensing event"))
		return head + " (" + strings.Join(parts, "; ") + "); newest licensing event " + stamp(w.Newest) + "; nothing was diagnosed"
	}
	return head + " (" + strings.Join(parts, "; ") + ")"
}

// Warnings are the report's warnings: conditions that are no error but
// make the result less than it looks (today: the time window set aside
// licensing events).
func (r *Report) Warnings() []string {
	var out []string
	if n := r.Window.Note(); n != "" {
		out = append(out, n)
	}
	if n := r.overflowNote(); n != "" {
		out = append(out, n)
	}
	return append(out, r.ruleNotes()...)
}

// maxRuleNotes caps the rule warnings: a rule directory of thousands of
// broken rules must not make a report of thousands of lines.
const maxRuleNotes = 10

// ruleNotes says which rules failed to evaluate or were switched off.
func (r *Report) ruleNotes() []string {
	ps := r.Engine.RuleProblems
	var out []string
	for _, p := range ps[:min(len(ps), maxRuleNotes)] {
		out = append(out, p.Describe())
	}
	if len(ps) > maxRuleNotes {
		out = append(out, fmt.Sprintf("%d more rules had evaluation problems (stats.rule_problems in the JSON report lists them all)", len(ps)-maxRuleNotes))
	}
	return out
}

// overflowNote says what the engine's bounds left out, "" when nothing.
func (r *Report) overflowNote() string {
	e := r.Engine
	if e.GroupsOverflow == 0 && e.FindingsOverflow == 0 {
		return ""
	}
	return fmt.Sprintf("the rules reached their bounds (%d groups per rule, %d in all; %d findings per rule, %d in all): %d events of new groups and %d firing groups were not kept, so findings may be missing or undercounted (rules: %s)",
		engine.MaxGroupsPerRule, engine.MaxGroups, engine.MaxFindingsPerRule, engine.MaxFindings,
		e.GroupsOverflow, e.FindingsOverflow, strings.Join(e.OverflowRules, ", "))
}

// IncompleteReason is why Incomplete holds, one line ("" when it does not).
func (r *Report) IncompleteReason() string {
	var parts []string
	if n := r.Stats.UnreadableCount(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d input(s) could not be read", n))
	}
	if n := r.overflowNote(); n != "" {
		parts = append(parts, n)
	}
	if sk := r.Engine.SkippedRules(); len(sk) > 0 {
		ids := make([]string, len(sk))
		for i, p := range sk {
			ids[i] = p.Rule + " (" + p.Skipped + ")"
		}
		parts = append(parts, fmt.Sprintf("%d rule(s) switched off: %s", len(sk), strings.Join(ids, ", ")))
	}
	return strings.Join(parts, "; ")
}
