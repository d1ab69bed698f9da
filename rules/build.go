package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// build merges two layers (over wins by rule id and class name), checks
// everything and compiles every expression, collecting all problems.
func build(under, over layer) (*Set, Problems) {
	var probs Problems
	classes := mergeClasses(under.classes, over.classes, &probs)
	rules := mergeRules(under.rules, over.rules, &probs)
	set := &Set{classes: classIndex{}, src: layer{rules: rules, classes: classes}}
	for _, c := range classes {
		probs = append(probs, checkClass(c)...)
		m := map[ref]struct{}{}
		for _, e := range c.Events {
			m[refOf(e.Provider, int(e.ID))] = struct{}{}
		}
		set.classes[c.Name] = m
		set.Classes = append(set.Classes, c.Class)
	}
	if len(rules) > MaxRules {
		probs = append(probs, Problem{File: rules[MaxRules].file, Line: rules[MaxRules].line,
			Msg: fmt.Sprintf("too many rules (%d, limit %d)", len(rules), MaxRules)})
		rules = rules[:MaxRules]
	}
	compiled := make([]*Compiled, len(rules))
	rprobs := make([]Problems, len(rules))
	eachParallel(len(rules), func(i int) { compiled[i], rprobs[i] = compileRule(&rules[i], set.classes) })
	for i := range rules {
		probs = append(probs, rprobs[i]...)
		if compiled[i] != nil {
			set.Rules = append(set.Rules, compiled[i])
		}
	}
	sort.Slice(set.Rules, func(i, j int) bool { return set.Rules[i].ID < set.Rules[j].ID })
	probs = append(probs, buildDiagnoses(set, under.diagnoses, over.diagnoses)...)
	sort.Slice(set.Classes, func(i, j int) bool { return set.Classes[i].Name < set.Classes[j].Name })
	return set, probs
}

func mergeClasses(under, over []rawClass, probs *Problems) []rawClass {
	byName := map[string]int{}
	var out []rawClass
	for _, lay := range [][]rawClass{under, over} {
		local := map[string]rawClass{}
		for _, c := range lay {
			if prev, dup := local[c.Name]; dup {
				*probs = append(*probs, Problem{File: c.file, Line: c.line, Rule: "class " + c.Name,
					Msg: fmt.Sprintf("duplicate class name (first defined at %s:%d)", prev.file, prev.line)})
				continue
			}
			local[c.Name] = c
			if i, ok := byName[c.Name]; ok {
				out[i] = c
				continue
			}
			byName[c.Name] = len(out)
			out = append(out, c)
		}
	}
	return out
}

func mergeRules(under, over []rawRule, probs *Problems) []rawRule {
	byID := map[string]int{}
	var out []rawRule
	for _, lay := range [][]rawRule{under, over} {
		local := map[string]rawRule{}
		for _, r := range lay {
			if r.ID == "" {
				out = append(out, r) // reported by compileRule
				continue
			}
			if prev, dup := local[r.ID]; dup {
				*probs = append(*probs, Problem{File: r.file, Line: r.line, Rule: r.ID,
					Msg: fmt.Sprintf("duplicate rule id (first defined at %s:%d)", prev.file, prev.line)})
				continue
			}
			local[r.ID] = r
			if i, ok := byID[r.ID]; ok {
				out[i] = r
				continue
			}
			byID[r.ID] = len(out)
			out = append(out, r)
		}
	}
	return out
}

func checkClass(c rawClass) Problems {
	var ps Problems
	bad := func(msg string) {
		ps = append(ps, Problem{File: c.file, Line: c.line, Rule: "class " + c.Name, Msg: msg})
	}
	if !labelRe.MatchString(c.Name) {
		bad(fmt.Sprintf("class name %q must be an identifier (letters, digits, _)", c.Name))
	}
	if len(c.Events) == 0 {
		bad("class lists no events")
	}
	for _, e := range c.Events {
		if strings.TrimSpace(e.Provider) == "" {
			bad(fmt.Sprintf("event id %d has no provider", e.ID))
		}
	}
	return ps
}

// ruleChecker accumulates the problems of one rule.
type ruleChecker struct {
	r       *rawRule
	classes classIndex
	probs   Problems
}

func (rc *ruleChecker) bad(key, format string, args ...any) {
	line := rc.r.line
	if key != "" {
		line = rc.r.lines.keyLine(rc.r.index, key)
	}
	id := rc.r.ID
	if id == "" {
		id = "(no id)"
	}
	rc.probs = append(rc.probs, Problem{File: rc.r.file, Line: line, Rule: id, Msg: fmt.Sprintf(format, args...)})
}

func (rc *ruleChecker) expr(key, src string, kind exprKind) *Program {
	p, err := compileExpr(src, kind, rc.classes)
	if err != nil {
		rc.bad(key, "%s = %q: %v", key, src, err)
	}
	return p
}

func (rc *ruleChecker) duration(key, s string) time.Duration {
	if s == "" {
		rc.bad(key, "%s is required", key)
		return 0
	}
	d, err := ParseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("must be positive")
	}
	if err != nil {
		rc.bad(key, "%s: %v", key, err)
	}
	return d
}

// selector resolves classes and explicit events to a (provider, id) set.
func (rc *ruleChecker) selector(key string, classes []string, events []EventRef) map[ref]struct{} {
	m := map[ref]struct{}{}
	for _, c := range classes {
		members, ok := rc.classes[c]
		if !ok {
			rc.bad(key, "unknown class %q", c)
			continue
		}
		for r := range members {
			m[r] = struct{}{}
		}
	}
	for _, e := range events {
		if strings.TrimSpace(e.Provider) == "" {
			rc.bad("events", "event id %d has no provider", e.ID)
			continue
		}
		m[refOf(e.Provider, int(e.ID))] = struct{}{}
	}
	return m
}

func compileRule(r *rawRule, classes classIndex) (*Compiled, Problems) {
	rc := &ruleChecker{r: r, classes: classes}
	c := &Compiled{Rule: r.Rule, File: r.file, Line: r.line, Kind: KindNone}
	if tl := r.lines.testLines(r.index); len(tl) == len(r.Tests) {
		c.TestLines = tl
	}
	rc.checkHeader()
	if c.Diagnosis == "" {
		c.Diagnosis = c.ID
	}
	c.Match.sel = rc.selector("classes", r.Classes, r.Events)
	if r.When != "" {
		c.Match.Whens = []*Program{rc.expr("when", r.When, condExpr)}
	}
	c.GroupBy = rc.named("group_by", r.GroupBy, valueExpr)
	c.Facts = rc.named("facts", r.Facts, factExpr)
	if r.On != "" {
		rc.configRule(c)
	} else {
		rc.correlation(c)
		rc.persist(c)
		rc.recovery(c)
	}
	rc.checkTests()
	rc.checkTestStatus()
	if len(rc.probs) > 0 {
		return nil, rc.probs
	}
	return c, nil
}

func (rc *ruleChecker) checkHeader() {
	r := rc.r
	switch {
	case r.ID == "":
		rc.bad("", "rule has no id")
	case !idRe.MatchString(r.ID):
		rc.bad("id", "id %q must be lower case letters, digits, '.', '_' or '-'", r.ID)
	}
	if strings.TrimSpace(r.Title) == "" {
		rc.bad("", "title is required")
	}
	if !severityOK(r.Severity) {
		rc.bad("severity", "severity %q must be one of %s", r.Severity, strings.Join(Severities, ", "))
	}
	if r.Confidence <= 0 || r.Confidence > 1 {
		rc.bad("confidence", "confidence %v must be in (0, 1]", r.Confidence)
	}
	for _, k := range r.KB {
		if strings.TrimSpace(k) == "" {
			rc.bad("kb", "empty kb article id")
		}
	}
}

func (rc *ruleChecker) named(key string, m map[string]string, kind exprKind) []Named {
	var out []Named
	for name, src := range m {
		if !labelRe.MatchString(name) {
			rc.bad(key, "%s label %q must be an identifier", key, name)
			continue
		}
		if key == "group_by" && reservedLabel(name) {
			rc.bad(key, "group_by label %q is taken by evidence values (param1…, value)", name)
			continue
		}
		if p := rc.expr(key, src, kind); p != nil {
			out = append(out, Named{Name: name, Prog: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var paramLabelRe = regexp.MustCompile(`^param[0-9]+$`)

func reservedLabel(name string) bool { return name == "value" || paramLabelRe.MatchString(name) }

func (rc *ruleChecker) correlation(c *Compiled) {
	r := rc.r
	n := 0
	for _, set := range []bool{r.Count != nil, r.Sequence != nil, r.Absence != nil, r.Distinct != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		rc.bad("", "at most one of count, sequence, absence, distinct may be given")
		return
	}
	switch {
	case r.Count != nil:
		c.Kind = KindCount
		c.Window = rc.duration("count.window", r.Count.Window)
		c.Threshold = r.Count.Threshold
		if c.Threshold < 1 {
			rc.bad("count.threshold", "count.threshold must be at least 1")
		}
	case r.Distinct != nil:
		c.Kind = KindDistinct
		c.Window = rc.duration("distinct.window", r.Distinct.Window)
		c.Threshold = r.Distinct.Threshold
		if c.Threshold < 1 {
			rc.bad("distinct.threshold", "distinct.threshold must be at least 1")
		}
		c.Value = rc.expr("distinct.value", r.Distinct.Value, valueExpr)
	case r.Sequence != nil:
		rc.sequence(c)
		return
	case r.Absence != nil:
		c.Kind = KindAbsence
		c.Window = rc.duration("absence.within", r.Absence.Within)
		e := rc.step("absence.expect", r.Absence.Expect, c.Match.sel, nil)
		c.Expect = &e
	}
	if len(c.Match.sel) == 0 && len(r.Classes) == 0 {
		rc.bad("", "rule selects no events: give classes or events")
	}
}

// sequence: a step without its own selection uses the rule's; the rule's
// when applies to every step.
func (rc *ruleChecker) sequence(c *Compiled) {
	s := rc.r.Sequence
	c.Kind = KindSequence
	c.Window = rc.duration("sequence.window", s.Window)
	if len(s.Steps) < 2 {
		rc.bad("sequence", "a sequence needs at least 2 steps")
	}
	for i, st := range s.Steps {
		m := rc.step(fmt.Sprintf("steps[%d]", i), st, c.Match.sel, c.Match.Whens)
		c.Steps = append(c.Steps, m)
	}
}

func (rc *ruleChecker) step(key string, st Step, inherit map[ref]struct{}, whens []*Program) Matcher {
	m := Matcher{sel: rc.selector(key, st.Classes, st.Events), Whens: append([]*Program{}, whens...)}
	if len(st.Classes) == 0 && len(st.Events) == 0 {
		m.sel = inherit
	}
	if len(m.sel) == 0 {
		rc.bad(key, "%s selects no events: give classes or events", key)
	}
	if st.When != "" {
		if p := rc.expr(key+".when", st.When, condExpr); p != nil {
			m.Whens = append(m.Whens, p)
		}
	}
	return m
}

func (rc *ruleChecker) checkTests() {
	for i, t := range rc.r.Tests {
		name := t.Name
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		if len(t.Events) == 0 && rc.r.On == "" { // a config rule's test may have none
			rc.bad("test", "test %s has no events", name)
		}
		if t.Now != "" {
			if _, err := time.Parse(time.RFC3339, t.Now); err != nil {
				rc.bad("now", "test %s: now %q is not RFC 3339", name, t.Now)
			}
		}
		for j, e := range t.Events {
			if strings.TrimSpace(e.Provider) == "" {
				rc.bad("test", "test %s event %d has no provider", name, j+1)
			}
			if e.Time != "" {
				if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
					rc.bad("time", "test %s event %d: time %q is not RFC 3339", name, j+1, e.Time)
				}
			}
		}
	}
}
