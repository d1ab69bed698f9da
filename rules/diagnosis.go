package rules

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
)

// Diagnosis holds what is declared about a diagnosis as a whole rather than
// about one rule: how its findings form incidents and how it relates to
// other diagnoses. [[diagnosis]] tables live beside rules (the built-in
// pack keeps them in 90-incidents.toml); a later one with the same id
// replaces an earlier one.
type Diagnosis struct {
	ID string `toml:"id"`
	// SymptomOf lists the diagnoses this one can be a symptom of: when a
	// finding of one of them is seen for the same host (or linked through a
	// license server name), this finding nests under it.
	SymptomOf []string `toml:"symptom_of"`
	// IncidentBy names the group labels that separate incidents of this
	// diagnosis (default: host, plus license_server when a rule groups by
	// it). Other labels fold into list facts.
	IncidentBy []string `toml:"incident_by"`
	// SupersededBy and StaleWhen: when StaleWhen holds for a finding of
	// this diagnosis, it is no longer itself but part of the incident of
	// SupersededBy (created with that id when there is none yet).
	SupersededBy string `toml:"superseded_by"`
	StaleWhen    string `toml:"stale_when"`
	// ExplainedBy and ExplainedWhen: a finding of this diagnosis that a
	// linked, active finding of one of ExplainedBy accounts for (when
	// ExplainedWhen holds; always when it is empty) is not a diagnosis of
	// its own but a misreading of the same events: it folds into that
	// finding. A 22 for "Windows Server 2019 - RDS Per User CAL" beside
	// per-user CALs of 2016 is a version problem, not a mode mismatch.
	ExplainedBy   []string `toml:"explained_by"`
	ExplainedWhen string   `toml:"explained_when"`
}

// CompiledDiagnosis is a validated [[diagnosis]] with StaleWhen compiled.
type CompiledDiagnosis struct {
	Diagnosis
	File  string
	Line  int
	Stale *Program // nil when StaleWhen is empty
	// Explained is ExplainedWhen compiled, nil when empty.
	Explained *Program
}

// ExplainEnv is what explained_when sees: the finding that may be
// explained (Facts, Host) and the one that may explain it (By, ByHost).
type ExplainEnv struct {
	ID, Host   string
	Facts      map[string]any
	ByID       string
	ByHost     string
	By         map[string]any
	CalType    func(product string) string
	CalVersion func(product string) string
}

// IsExplained evaluates ExplainedWhen; empty holds, an evaluation error
// (a fact missing) does not.
func (d *CompiledDiagnosis) IsExplained(env *ExplainEnv) bool {
	if d == nil || len(d.ExplainedBy) == 0 {
		return false
	}
	if d.Explained == nil {
		return true
	}
	env.CalType, env.CalVersion = CalType, CalVersion
	ok, err := d.Explained.Bool(env)
	return err == nil && ok
}

// DiagnosisEnv is what stale_when sees: the finding as built.
type DiagnosisEnv struct {
	ID        string
	Host      string
	Severity  string
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
	Now       time.Time
	Group     map[string]string
	Facts     map[string]any
}

// Stale evaluates StaleWhen; an evaluation error (a fact missing, of
// another type) counts as not stale.
func (d *CompiledDiagnosis) IsStale(env *DiagnosisEnv) bool {
	if d == nil || d.Stale == nil {
		return false
	}
	ok, err := d.Stale.Bool(env)
	return err == nil && ok
}

// Diagnosis returns the declaration of diagnosis id, or nil.
func (s *Set) Diagnosis(id string) *CompiledDiagnosis { return s.diagnoses[id] }

// DiagnosisIDs lists the declared diagnoses, sorted.
func (s *Set) DiagnosisIDs() []string {
	out := make([]string, 0, len(s.diagnoses))
	for id := range s.diagnoses {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

type rawDiagnosis struct {
	Diagnosis
	file string
	line int
}

var diagHeaderRe = regexp.MustCompile(`^\s*\[\[\s*diagnosis\s*\]\]\s*(#.*)?$`)

// diagnosisLines are the 1-based lines of the [[diagnosis]] headers.
func diagnosisLines(text string) []int {
	var out []int
	for i, l := range strings.Split(text, "\n") {
		if diagHeaderRe.MatchString(l) {
			out = append(out, i+1)
		}
	}
	return out
}

func appendDiagnoses(l *layer, name, text string, ds []Diagnosis) {
	lines := diagnosisLines(text)
	for i, d := range ds {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		l.diagnoses = append(l.diagnoses, rawDiagnosis{Diagnosis: d, file: name, line: line})
	}
}

// buildDiagnoses merges the [[diagnosis]] tables of two layers (over wins
// by id) and checks them against the rules' diagnoses.
func buildDiagnoses(set *Set, under, over []rawDiagnosis) Problems {
	var probs Problems
	merged := map[string]rawDiagnosis{}
	var order []string
	for _, lay := range [][]rawDiagnosis{under, over} {
		local := map[string]rawDiagnosis{}
		for _, d := range lay {
			if prev, dup := local[d.ID]; dup && d.ID != "" {
				probs = append(probs, Problem{File: d.file, Line: d.line, Rule: "diagnosis " + d.ID,
					Msg: fmt.Sprintf("duplicate diagnosis id (first defined at %s:%d)", prev.file, prev.line)})
				continue
			}
			local[d.ID] = d
			if _, ok := merged[d.ID]; !ok {
				order = append(order, d.ID)
			}
			merged[d.ID] = d
		}
	}
	set.src.diagnoses = nil
	set.diagnoses = map[string]*CompiledDiagnosis{}
	for _, id := range order {
		d := merged[id]
		set.src.diagnoses = append(set.src.diagnoses, d)
		c, ps := compileDiagnosis(d)
		probs = append(probs, ps...)
		if c != nil {
			set.diagnoses[id] = c
		}
	}
	return probs
}

func compileDiagnosis(d rawDiagnosis) (*CompiledDiagnosis, Problems) {
	var probs Problems
	bad := func(format string, args ...any) {
		id := d.ID
		if id == "" {
			id = "(no id)"
		}
		probs = append(probs, Problem{File: d.file, Line: d.line, Rule: "diagnosis " + id, Msg: fmt.Sprintf(format, args...)})
	}
	if !idRe.MatchString(d.ID) {
		bad("diagnosis id %q must be lower case letters, digits, '.', '_' or '-'", d.ID)
	}
	for _, s := range d.SymptomOf {
		if !idRe.MatchString(s) {
			bad("symptom_of: %q is not a diagnosis id", s)
		}
		if s == d.ID {
			bad("symptom_of: a diagnosis cannot be a symptom of itself")
		}
	}
	for _, l := range d.IncidentBy {
		if !labelRe.MatchString(l) {
			bad("incident_by: %q is not a group label", l)
		}
	}
	if d.SupersededBy != "" && !idRe.MatchString(d.SupersededBy) {
		bad("superseded_by: %q is not a diagnosis id", d.SupersededBy)
	}
	if d.SupersededBy == d.ID && d.ID != "" {
		bad("superseded_by: a diagnosis cannot supersede itself")
	}
	if (d.SupersededBy == "") != (d.StaleWhen == "") {
		bad("superseded_by and stale_when go together")
	}
	for _, s := range d.ExplainedBy {
		if !idRe.MatchString(s) || s == d.ID {
			bad("explained_by: %q is not another diagnosis id", s)
		}
	}
	if d.ExplainedWhen != "" && len(d.ExplainedBy) == 0 {
		bad("explained_when needs explained_by")
	}
	c := &CompiledDiagnosis{Diagnosis: d.Diagnosis, File: d.file, Line: d.line}
	if d.ExplainedWhen != "" {
		p, err := compileExplainExpr(d.ExplainedWhen)
		if err != nil {
			bad("explained_when = %q: %v", d.ExplainedWhen, err)
		}
		c.Explained = p
	}
	if d.StaleWhen != "" {
		p, err := compileDiagnosisExpr(d.StaleWhen)
		if err != nil {
			bad("stale_when = %q: %v", d.StaleWhen, err)
		}
		c.Stale = p
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return c, nil
}

func compileExplainExpr(src string) (*Program, error) { return compileWithEnv(src, &ExplainEnv{}) }

func compileDiagnosisExpr(src string) (*Program, error) { return compileWithEnv(src, &DiagnosisEnv{}) }

func compileWithEnv(src string, env any) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	if len(src) > MaxExprLen {
		return nil, fmt.Errorf("expression longer than %d characters", MaxExprLen)
	}
	opts := []expr.Option{expr.MaxNodes(MaxExprNodes), expr.Timezone("UTC"), expr.Env(env), expr.AsBool()}
	for _, b := range deniedBuiltins {
		opts = append(opts, expr.DisableBuiltin(b))
	}
	prog, err := compileSafely(src, opts)
	if err != nil {
		return nil, err
	}
	return &Program{Source: src, prog: prog}, nil
}
