package rules

import "strconv"

// Configuration rules (on = "config"): a configuration that cannot work is a
// finding even before the log holds a licensing event, because the grace
// period hides it until it ends. Such a rule selects no event and has no
// correlation; the engine evaluates its when once per host configuration
// (engine/config.go) with Cfg() that host's and Computer the host.

// OnConfig is the only accepted value of a rule's `on`.
const OnConfig = "config"

// IsConfig reports whether the rule is a configuration rule.
func (c *Compiled) IsConfig() bool { return c.Kind == KindConfig }

// MatchConfig evaluates a configuration rule's conditions on env (Config
// and Computer already filled); a rule without when always matches.
func (c *Compiled) MatchConfig(env *Env) (bool, error) {
	for _, w := range c.Match.Whens {
		ok, err := w.Bool(env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// configRule checks what a configuration rule may hold: no event selection,
// no correlation, no group_by (the group is the host), tests with a config.
func (rc *ruleChecker) configRule(c *Compiled) {
	r := rc.r
	if r.On != OnConfig {
		rc.bad("on", "on = %q: the only accepted value is %q", r.On, OnConfig)
		return
	}
	c.Kind = KindConfig
	if len(r.Classes) > 0 || len(r.Events) > 0 {
		rc.bad("classes", `an on = "config" rule selects no events (no classes, no events)`)
	}
	if r.Count != nil || r.Sequence != nil || r.Absence != nil || r.Distinct != nil {
		rc.bad("", `an on = "config" rule has no count, sequence, absence or distinct`)
	}
	if len(r.GroupBy) > 0 {
		rc.bad("group_by", `an on = "config" rule is grouped by host only: no group_by`)
	}
	for i, t := range r.Tests {
		if t.Config == nil && t.Fire {
			name := t.Name
			if name == "" {
				name = "#" + strconv.Itoa(i+1)
			}
			rc.bad("test", "test %s: a configuration rule fires only on a config", name)
		}
	}
}
