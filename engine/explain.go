package engine

import (
	"slices"

	"github.com/tsdiag/tsdiag/rules"
)

// explain folds each finding that another, linked finding accounts for
// (its diagnosis' explained_by / explained_when) into that finding: the
// same events read two ways are one diagnosis, and the wrong reading is not
// printed as a second cause. The folded finding's rule joins AlsoMatched,
// its evidence and what it counted join the explaining incident, and the
// explaining finding lists it under the fact "explains". Runs on incidents
// (after merging), before causes and symptoms are linked.
func explain(set *rules.Set, fs []Finding) []Finding {
	gone := make([]bool, len(fs))
	for i := range fs {
		d := set.Diagnosis(fs[i].ID)
		if d == nil || len(d.ExplainedBy) == 0 || !isActive(&fs[i]) {
			continue
		}
		if j := explainer(fs, gone, i, d); j >= 0 {
			absorb(&fs[j], &fs[i])
			gone[i] = true
		}
	}
	out := fs[:0]
	for i := range fs {
		if !gone[i] {
			out = append(out, fs[i])
		}
	}
	return out
}

// explainer is the first active, linked finding of an explaining diagnosis
// for which explained_when holds, -1 when none.
func explainer(fs []Finding, gone []bool, i int, d *rules.CompiledDiagnosis) int {
	f := &fs[i]
	for j := range fs {
		c := &fs[j]
		if j == i || gone[j] || !slices.Contains(d.ExplainedBy, c.ID) || !isActive(c) {
			continue
		}
		if !linked(f, c) && !linked(c, f) {
			continue
		}
		env := &rules.ExplainEnv{ID: f.ID, Host: f.Host, Facts: f.Facts, ByID: c.ID, ByHost: c.Host, By: c.Facts}
		if d.IsExplained(env) {
			return j
		}
	}
	return -1
}

// absorbedFacts are what an explained finding saw (who was refused, what,
// how often); the rest is its own reading of the cause (a mismatch's
// "wrong_side: set the host to the type of CALs you bought") and would
// contradict the diagnosis that explains it.
var absorbedFacts = []string{
	"session_host", "session_hosts", "session_host_count", "hosts", "host_count",
	"clients", "client_count", "users", "user_count", "refusals",
	"cal_type", "cal_types", "cal_type_count", "requested_version",
}

// absorb adds what f saw to c without changing c's diagnosis.
func absorb(c, f *Finding) {
	if c.Facts == nil {
		c.Facts = map[string]any{}
	}
	for k, v := range f.Facts {
		if _, ok := c.Facts[k]; !ok && slices.Contains(absorbedFacts, k) {
			c.Facts[k] = v
		}
	}
	explained, _ := c.Facts["explains"].([]string)
	if !slices.Contains(explained, f.ID) {
		c.Facts["explains"] = append(explained, f.ID)
	}
	for _, r := range append([]string{f.Rule}, f.AlsoMatched...) {
		if r != c.Rule && !slices.Contains(c.AlsoMatched, r) {
			c.AlsoMatched = append(c.AlsoMatched, r)
		}
	}
	slices.Sort(c.AlsoMatched)
	c.Evidence = mergeEvidence(append(c.Evidence, f.Evidence...))
	if f.FirstSeen.Before(c.FirstSeen) {
		c.FirstSeen = f.FirstSeen
	}
	if f.LastSeen.After(c.LastSeen) {
		c.LastSeen = f.LastSeen
	}
	if rules.SeverityRank(f.Severity) > rules.SeverityRank(c.Severity) {
		c.Severity = f.Severity
	}
}
