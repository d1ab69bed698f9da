package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// Severities in increasing order.
var Severities = []string{"info", "low", "medium", "high", "critical"}

// Correlation kinds.
const (
	KindNone     = "none"
	KindCount    = "count"
	KindSequence = "sequence"
	KindAbsence  = "absence"
	KindDistinct = "distinct"
	KindConfig   = "config" // on = "config" (config.go)
)

// Set is a compiled, validated rule set.
type Set struct {
	Rules   []*Compiled // sorted by id
	Classes []Class     // sorted by name
	classes classIndex
	src     layer
	// diagnoses are the [[diagnosis]] declarations by id (rules/diagnosis.go).
	diagnoses map[string]*CompiledDiagnosis
}

// Compiled is a validated rule with its expressions compiled once.
type Compiled struct {
	Rule
	File string
	Line int

	Kind      string
	Match     Matcher       // the rule's own events (A for absence)
	GroupBy   []Named       // sorted by label
	Window    time.Duration // count, sequence, distinct window; absence "within"
	Threshold int           // count, distinct
	Steps     []Matcher     // sequence
	Expect    *Matcher      // absence
	Value     *Program      // distinct
	Facts     []Named       // sorted by name
	// PersistEvents and PersistOver are the persistence threshold (0: none);
	// Recover the recovery, nil when the rule has none (persist.go).
	PersistEvents int
	PersistOver   time.Duration
	Recover       *CompiledRecovery
	// TestLines[i] is the line of Tests[i] ([[rule.test]] header), 0 when
	// the tests were written inline.
	TestLines []int
}

// TestLine is the line of test i, falling back to the rule's line.
func (c *Compiled) TestLine(i int) int {
	if i < len(c.TestLines) && c.TestLines[i] > 0 {
		return c.TestLines[i]
	}
	return c.Line
}

// Named is a labelled expression (group_by label, fact name).
type Named struct {
	Name string
	Prog *Program
}

// Matcher selects events by (provider, id) and then by conditions.
type Matcher struct {
	sel   map[ref]struct{}
	Whens []*Program
}

// Selects reports whether the matcher can match this (provider, id) at all.
func (m *Matcher) Selects(provider string, id int) bool {
	_, ok := m.sel[refOf(provider, id)]
	return ok
}

// Match evaluates the matcher on an environment already filled for the event.
func (m *Matcher) Match(env *Env) (bool, error) {
	if !m.Selects(env.Provider, env.EventID) {
		return false, nil
	}
	for _, w := range m.Whens {
		ok, err := w.Bool(env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Rule returns the compiled rule with this id, or nil.
func (s *Set) Rule(id string) *Compiled {
	i := sort.Search(len(s.Rules), func(i int) bool { return s.Rules[i].ID >= id })
	if i < len(s.Rules) && s.Rules[i].ID == id {
		return s.Rules[i]
	}
	return nil
}

// Only returns a set holding just the rule with this id (and every class),
// used to run a rule's inline tests in isolation.
func (s *Set) Only(id string) *Set {
	out := &Set{Classes: s.Classes, classes: s.classes, src: s.src, diagnoses: s.diagnoses}
	if r := s.Rule(id); r != nil {
		out.Rules = []*Compiled{r}
	}
	return out
}

// NewEnv returns an expression environment bound to this set's classes.
func (s *Set) NewEnv() *Env { return newEnv(s.classes) }

// NewFactEnv returns a fact environment bound to this set's classes.
func (s *Set) NewFactEnv() *FactEnv {
	f := &FactEnv{Env: Env{classes: s.classes}}
	f.Env.bind()
	return f
}

// Selects lists every (provider, event id) any rule can match, including
// sequence steps and absence expectations, sorted.
func (s *Set) Selects() []EventRef {
	seen := map[EventRef]bool{}
	var out []EventRef
	for _, r := range s.Rules {
		for _, e := range r.Selects() {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Filter is the decoder predicate for this set: true only for records some
// rule can match. The event id is checked first (most records stop there);
// providers compare case-insensitively without allocating, since the
// decoder asks for every record of every input.
func (s *Set) Filter() evtx.Filter {
	ids := map[uint16][]string{}
	// The engine reads each host's time zone from ZoneEvents (LocalDate)
	// and its OS build from BuildEvents.
	for _, e := range append(append(s.Selects(), ZoneEvents...), BuildEvents...) {
		ids[e.ID] = append(ids[e.ID], e.Provider)
	}
	return func(provider string, id uint16) bool {
		for _, p := range ids[id] {
			if strings.EqualFold(provider, p) {
				return true
			}
		}
		return false
	}
}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
var labelRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func severityOK(s string) bool {
	for _, v := range Severities {
		if v == s {
			return true
		}
	}
	return false
}

// SeverityRank is the index of s in Severities, -1 when unknown.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

func (c *Compiled) String() string { return fmt.Sprintf("%s (%s:%d)", c.ID, c.File, c.Line) }

// Selects lists the (provider, event id) pairs this rule can match: its own
// selection, every sequence step and the absence expectation. Providers are
// lower case.
func (c *Compiled) Selects() []EventRef {
	seen := map[ref]bool{}
	var out []EventRef
	add := func(m *Matcher) {
		for r := range m.sel {
			if !seen[r] {
				seen[r] = true
				out = append(out, EventRef{Provider: r.provider, ID: uint16(r.id)})
			}
		}
	}
	if c.Kind != KindSequence {
		add(&c.Match)
	}
	for i := range c.Steps {
		add(&c.Steps[i])
	}
	if c.Expect != nil {
		add(c.Expect)
	}
	if c.Recover != nil {
		add(&c.Recover.Matcher)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].ID < out[j].ID
	})
	return out
}
