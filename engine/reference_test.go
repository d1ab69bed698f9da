package engine

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// The correlations are checked against brute-force definitions on random
// streams: several groups, distinct timestamps, fed slightly out of order
// (within the reorder horizon).

type refEvent struct {
	ev    *evtx.Event
	group string
	value string
}

func randomStream(r *rand.Rand, n int, make func(i int, at time.Duration, group, value string) *evtx.Event) []refEvent {
	var out []refEvent
	at := time.Duration(0)
	for i := 0; i < n; i++ {
		at += time.Duration(1+r.Intn(40)) * time.Minute
		g := fmt.Sprintf("G%d", r.Intn(4))
		v := fmt.Sprintf("V%d", r.Intn(5))
		out = append(out, refEvent{ev: make(i, at, g, v), group: g, value: v})
	}
	return out
}

// jitter swaps events that are less than 30 minutes apart, as interleaved
// files deliver them.
func jitter(r *rand.Rand, evs []refEvent) []*evtx.Event {
	out := make([]*evtx.Event, len(evs))
	for i, e := range evs {
		out[i] = e.ev
	}
	for i := 0; i+1 < len(out); i++ {
		if out[i+1].TimeCreated.Sub(out[i].TimeCreated) < 30*time.Minute && r.Intn(2) == 0 {
			out[i], out[i+1] = out[i+1], out[i]
		}
	}
	return out
}

func counts(fs []Finding, label string) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Group[label]] = f.Count
	}
	return m
}

func byGroup(evs []refEvent) map[string][]refEvent {
	m := map[string][]refEvent{}
	for _, e := range evs {
		m[e.group] = append(m[e.group], e)
	}
	return m
}

func TestCountMatchesReference(t *testing.T) {
	set := ruleSet(t, countRule)
	w := time.Hour
	for seed := int64(0); seed < 40; seed++ {
		r := rand.New(rand.NewSource(seed))
		evs := randomStream(r, 300, func(i int, at time.Duration, g, _ string) *evtx.Event { return ev(rcm, 1028, at, "H", g) })
		want := map[string]int{}
		for g, list := range byGroup(evs) {
			marked := map[int]bool{}
			for j := 2; j < len(list); j++ { // threshold 3: the 3 events ending at j
				if list[j].ev.TimeCreated.Sub(list[j-2].ev.TimeCreated) <= w {
					marked[j], marked[j-1], marked[j-2] = true, true, true
				}
			}
			if len(marked) > 0 {
				want[g] = len(marked)
			}
		}
		got := counts(run(t, set, Options{Reorder: time.Hour}, jitter(r, evs)...), "client")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: got %v, want %v", seed, got, want)
		}
	}
}

func TestDistinctMatchesReference(t *testing.T) {
	set := ruleSet(t, `
[[rule]]
id = "d"
title = "d"
severity = "low"
confidence = 1
events = [{ provider = "TermService", id = 1003 }]
group_by = { host = "Computer" }
[rule.distinct]
value = "Param(1)"
threshold = 3
window = "2h"
`)
	w := 2 * time.Hour
	for seed := int64(0); seed < 40; seed++ {
		r := rand.New(rand.NewSource(seed))
		evs := randomStream(r, 300, func(i int, at time.Duration, g, v string) *evtx.Event { return ev("TermService", 1003, at, g, v) })
		want := map[string]int{}
		for g, list := range byGroup(evs) {
			marked := map[int]bool{}
			for j := range list {
				latest := map[string]int{}
				for i := 0; i <= j; i++ {
					if list[j].ev.TimeCreated.Sub(list[i].ev.TimeCreated) <= w {
						latest[list[i].value] = i
					}
				}
				if len(latest) >= 3 {
					for _, i := range latest {
						marked[i] = true
					}
				}
			}
			if len(marked) > 0 {
				want[g] = len(marked)
			}
		}
		got := counts(run(t, set, Options{Reorder: time.Hour}, jitter(r, evs)...), "host")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: got %v, want %v", seed, got, want)
		}
	}
}

func TestAbsenceMatchesReference(t *testing.T) {
	set := ruleSet(t, absenceRule)
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	w := 30 * time.Minute
	for seed := int64(0); seed < 40; seed++ {
		r := rand.New(rand.NewSource(seed))
		evs := randomStream(r, 300, func(i int, at time.Duration, g, v string) *evtx.Event {
			id := uint16(3) // stop (A)
			if v < "V3" {
				id = 0 // start (B)
			}
			return ev(ls, id, at, g)
		})
		last := evs[len(evs)-1].ev.TimeCreated
		want := map[string]int{}
		for g, list := range byGroup(evs) {
			for i, a := range list {
				if a.ev.EventID != 3 || last.Sub(a.ev.TimeCreated) < w {
					continue
				}
				answered := false
				for _, b := range list[i+1:] {
					if b.ev.EventID == 0 && b.ev.TimeCreated.Sub(a.ev.TimeCreated) <= w {
						answered = true
					}
				}
				if !answered {
					want[g]++
				}
			}
		}
		got := counts(run(t, set, Options{Reorder: time.Hour}, jitter(r, evs)...), "server")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: got %v, want %v", seed, got, want)
		}
	}
}

// Invariants every finding keeps, on a random mix through several kinds.
func TestFindingInvariants(t *testing.T) {
	set := ruleSet(t, countRule+distinctRule+absenceRule)
	r := rand.New(rand.NewSource(7))
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	var evs []*evtx.Event
	for i := 0; i < 5000; i++ {
		at := time.Duration(i) * 7 * time.Minute
		switch r.Intn(3) {
		case 0:
			evs = append(evs, ev(rcm, 1028, at, "H", fmt.Sprintf("WS%d", r.Intn(30))))
		case 1:
			evs = append(evs, ev("TermService", 1003, at, fmt.Sprintf("H%d", r.Intn(5)), fmt.Sprintf("WS%d", r.Intn(30))))
		default:
			evs = append(evs, ev(ls, uint16(3*r.Intn(2)), at, fmt.Sprintf("LS%d", r.Intn(3))))
		}
	}
	fs := run(t, set, Options{}, evs...)
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	for i, f := range fs {
		sum := 0
		for _, b := range f.Timeline {
			sum += b.Count
		}
		if sum != f.Count || f.FirstSeen.After(f.LastSeen) || f.Rank != i+1 {
			t.Errorf("%s %v: timeline %d count %d first %v last %v rank %d", f.Rule, f.Group, sum, f.Count, f.FirstSeen, f.LastSeen, f.Rank)
		}
		if len(f.Evidence) > EvidenceHead+EvidenceTail || len(f.Evidence) > f.Count ||
			!sort.SliceIsSorted(f.Evidence, func(a, b int) bool { return f.Evidence[a].Time.Before(f.Evidence[b].Time) }) {
			t.Errorf("%s %v: evidence %d of %d, unsorted?", f.Rule, f.Group, len(f.Evidence), f.Count)
		}
		if i > 0 && fs[i-1].Score < f.Score {
			t.Errorf("rank %d score %v above rank %d score %v", i+1, f.Score, i, fs[i-1].Score)
		}
		if !f.Evidence[0].Time.Equal(f.FirstSeen) || !f.Evidence[len(f.Evidence)-1].Time.Equal(f.LastSeen) {
			t.Errorf("%s %v: evidence does not span first..last seen", f.Rule, f.Group)
		}
	}
}

// A sequence fires for a group exactly when some stop is followed by two
// later renewal failures, all within the window of the stop.
func TestSequenceExistenceMatchesReference(t *testing.T) {
	set := ruleSet(t, strings.Replace(seqRule, `confidence = 0.9`, "confidence = 0.9\ngroup_by = { host = \"Computer\" }", 1))
	ls := "Microsoft-Windows-TerminalServices-Licensing"
	w := 2 * time.Hour
	for seed := int64(0); seed < 60; seed++ {
		r := rand.New(rand.NewSource(seed))
		evs := randomStream(r, 60, func(i int, at time.Duration, g, v string) *evtx.Event {
			if v < "V2" {
				return ev(ls, 3, at*3, g)
			}
			return ev(rcm, 1028, at*3, g, "WS")
		})
		want := map[string]bool{}
		for g, list := range byGroup(evs) {
			for i, a := range list {
				if a.ev.EventID != 3 {
					continue
				}
				n := 0
				for _, b := range list[i+1:] {
					if b.ev.EventID == 1028 && b.ev.TimeCreated.Sub(a.ev.TimeCreated) <= w {
						n++
					}
				}
				if n >= 2 {
					want[g] = true
				}
			}
		}
		got := map[string]bool{}
		for _, f := range run(t, set, Options{Reorder: time.Hour}, jitter(r, evs)...) {
			got[f.Group["host"]] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: fired for %v, want %v", seed, got, want)
		}
	}
}
