package engine

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// A log crafted with more distinct clients than the engine keeps groups
// for: the state stops at the bound, the overflow is counted and the rule
// named, and the findings kept stay within their own bound.
func TestGroupsAndFindingsAreBounded(t *testing.T) {
	set := ruleSet(t, `
[[rule]]
id = "per-client"
title = "One client refused"
severity = "low"
confidence = 1
classes = ["renew_failed"]
group_by = { host = "Computer", client = "Param(1)" }
[rule.count]
threshold = 2
window = "30d"
`)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	n := MaxGroupsPerRule + 500
	recs := make([]writer.Record, 2*n) // each client twice: its group fires
	for i := range recs {
		recs[i] = writer.Record{Provider: "TermService", EventID: 1028, Level: 3, Channel: "System",
			Computer: "RDSH01", TimeCreated: start.Add(time.Duration(i) * time.Second),
			Payload: writer.Payload{Shape: writer.Classic, Values: []writer.Value{writer.String(fmt.Sprintf("WS-%06d", i/2))}}}
	}
	path := writeEVTX(t, filepath.Join(t.TempDir(), "crafted.evtx"), numbered(recs))
	fs, st := scan(t, set, Options{}, path)
	if st.GroupsOverflow != 2*(n-MaxGroupsPerRule) || !slices.Equal(st.OverflowRules, []string{"per-client"}) {
		t.Errorf("groups overflow %d (want %d refused events), rules %v", st.GroupsOverflow, 2*(n-MaxGroupsPerRule), st.OverflowRules)
	}
	if st.FindingsOverflow != MaxGroupsPerRule-MaxFindingsPerRule {
		t.Errorf("findings overflow %d, want %d", st.FindingsOverflow, MaxGroupsPerRule-MaxFindingsPerRule)
	}
	if len(fs) > MaxFindingsPerRule {
		t.Errorf("%d findings kept, bound %d", len(fs), MaxFindingsPerRule)
	}
}

// Trap: a busy but honest log stays below every bound.
func TestBusyFarmStaysBelowTheBounds(t *testing.T) {
	set := builtinSet(t)
	_, st := scan(t, set, Options{}, genFile(t, t.TempDir(), "x.evtx", "multi-client-ls-stopped-2019"))
	if st.GroupsOverflow != 0 || st.FindingsOverflow != 0 {
		t.Errorf("overflow on an honest log: %+v", st)
	}
}
