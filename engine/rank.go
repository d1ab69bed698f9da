package engine

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/rules"
)

// SeverityWeight is the first factor of the score. The steps are large
// enough that evidence strength (at most 2.5x) and recency (at least 0.5x)
// reorder neighbouring severities only, never info above high.
var SeverityWeight = map[string]float64{"info": 1, "low": 2.5, "medium": 6, "high": 15, "critical": 40}

// RecencyHalfLife is how fast old findings lose weight.
const RecencyHalfLife = 7 * 24 * time.Hour

// Score ranks a finding:
//
//	score = severity weight × confidence × strength × recency
//	strength = min(2.5, 1 + log10(count)/2)        (1 event: 1, 100 events: 2, 1000+: 2.5)
//	recency  = 0.5 + 0.5 × 2^(-age / 7 days)        (age = now - last seen; 1 now, 0.75 a week ago, → 0.5)
//
// rounded to 4 decimals so equal inputs give equal scores on every platform.
func Score(f *Finding, now time.Time) float64 {
	strength := 1.0
	if f.Count > 1 {
		strength = math.Min(2.5, 1+math.Log10(float64(f.Count))/2)
	}
	age := now.Sub(f.LastSeen)
	if age < 0 {
		age = 0
	}
	recency := 0.5 + 0.5*math.Exp2(-float64(age)/float64(RecencyHalfLife))
	s := SeverityWeight[f.Severity] * f.Confidence * strength * recency
	return math.Round(s*1e4) / 1e4
}

// rank scores and sorts findings: score, then severity, then rule id, then
// group, so the order never depends on map or input order.
func rank(fs []Finding, now time.Time) {
	for i := range fs {
		fs[i].Score = Score(&fs[i], now)
	}
	sort.SliceStable(fs, func(i, j int) bool { return Compare(&fs[i], &fs[j]) < 0 })
	for i := range fs {
		fs[i].Rank = i + 1
	}
}

// Compare orders two scored findings the way the report lists them: score,
// then severity, then rule id, then group. It returns <0 when a comes first,
// 0 when the two tie.
func Compare(a, b *Finding) int {
	switch {
	case a.Score != b.Score:
		return cmpBool(a.Score > b.Score)
	case rules.SeverityRank(a.Severity) != rules.SeverityRank(b.Severity):
		return cmpBool(rules.SeverityRank(a.Severity) > rules.SeverityRank(b.Severity))
	case a.Rule != b.Rule:
		return strings.Compare(a.Rule, b.Rule)
	}
	return strings.Compare(GroupString(a.Group), GroupString(b.Group))
}

func cmpBool(first bool) int {
	if first {
		return -1
	}
	return 1
}

// GroupString renders a group as "label=value,…" in label order.
func GroupString(g map[string]string) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + g[k]
	}
	return strings.Join(parts, ",")
}
