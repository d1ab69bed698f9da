package rules

import "time"

// Persist is a rule's persistence threshold: a finding with fewer matches,
// or whose first and last match are closer than Over, is "transient" (info)
// rather than an alarm, because a licensing failure that happened once, or
// for a few minutes, is usually a reboot or a network blip that healed.
type Persist struct {
	Events int    `toml:"events"` // at least this many matches (default 1)
	Over   string `toml:"over"`   // first to last match at least this long (default 0)
}

// Recovery names the events that show the trouble is over (the licensing
// service started again, licenses issued again). Trouble followed by one of
// them, with the Match labels equal, is "resolved" (info) at its time; a
// further match after it re-opens the finding.
type Recovery struct {
	Classes []string          `toml:"classes"`
	Events  []EventRef        `toml:"events"`
	When    string            `toml:"when"`
	Match   []string          `toml:"match"`    // incident labels that must be equal
	GroupBy map[string]string `toml:"group_by"` // labels on the recovery event (default: the rule's)
	Quiet   string            `toml:"quiet"`    // no further match for this long (default 0)
}

// CompiledRecovery is a validated Recovery.
type CompiledRecovery struct {
	Matcher Matcher
	Labels  []Named // one per Match label, in Match order
	Quiet   time.Duration
}

func (rc *ruleChecker) persist(c *Compiled) {
	p := rc.r.Persist
	if p == nil {
		return
	}
	c.PersistEvents = p.Events
	if p.Events < 0 {
		rc.bad("persist.events", "persist.events must not be negative")
	}
	if p.Events == 0 {
		c.PersistEvents = 1
	}
	if p.Over != "" {
		d, err := ParseDuration(p.Over)
		if err != nil {
			rc.bad("persist.over", "persist.over: %v", err)
		}
		c.PersistOver = d
	}
}

func (rc *ruleChecker) recovery(c *Compiled) {
	rv := rc.r.Recovery
	if rv == nil {
		return
	}
	out := &CompiledRecovery{}
	st := Step{Classes: rv.Classes, Events: rv.Events, When: rv.When}
	if len(st.Classes) == 0 && len(st.Events) == 0 {
		rc.bad("recovery", "recovery selects no events: give classes or events")
		return
	}
	out.Matcher = rc.step("recovery", st, nil, nil)
	if len(rv.Match) == 0 {
		rc.bad("recovery.match", "recovery.match must name at least one group_by label")
	}
	for _, label := range rv.Match {
		if src, ok := rv.GroupBy[label]; ok {
			if p := rc.expr("recovery.group_by", src, valueExpr); p != nil {
				out.Labels = append(out.Labels, Named{Name: label, Prog: p})
			}
			continue
		}
		found := false
		for _, g := range c.GroupBy {
			if g.Name == label {
				out.Labels = append(out.Labels, g)
				found = true
			}
		}
		if !found {
			rc.bad("recovery.match", "recovery.match label %q is not in the rule's group_by nor recovery.group_by", label)
		}
	}
	for label := range rv.GroupBy {
		if !contains(rv.Match, label) {
			rc.bad("recovery.group_by", "recovery.group_by label %q is not in recovery.match", label)
		}
	}
	if rv.Quiet != "" {
		d, err := ParseDuration(rv.Quiet)
		if err != nil {
			rc.bad("recovery.quiet", "recovery.quiet: %v", err)
		}
		out.Quiet = d
	}
	c.Recover = out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// validStatus is what a rule test may expect.
func validStatus(s string) bool {
	return s == "" || s == "active" || s == "resolved" || s == "transient"
}

func (rc *ruleChecker) checkTestStatus() {
	for i, t := range rc.r.Tests {
		if !validStatus(t.Status) {
			rc.bad("status", "test #%d: status %q must be active, resolved or transient", i+1, t.Status)
		}
		if t.Status != "" && !t.Fire {
			rc.bad("status", "test #%d: status needs fire = true", i+1)
		}
	}
}
