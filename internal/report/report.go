// Package report renders a scan's findings for people and pipelines: text
// for a terminal, JSON (a documented, versioned schema), SARIF 2.1.0, JUnit
// XML, a self-contained HTML page and markdown for tickets.
//
// Every renderer reads the same Report and is deterministic: the same scan
// gives the same bytes (except the duration, which the caller measures).
// It also owns the JSON contract: report.schema.json (JSONSchema, checked by
// Validate) describes the report and the watch/live JSON lines. Embedders
// reach it through the root package (tsdiag.Write).
package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/engine/suppress"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/kb"
	"github.com/tsdiag/tsdiag/rules"
)

// SchemaVersion is the version of the JSON report schema. The minor number
// grows when fields are added; the major when a field changes meaning or
// goes away.
const SchemaVersion = "1.4"

// Report is everything one scan produced.
type Report struct {
	Version  string        // JSON schema version (SchemaVersion)
	Tool     string        // tsdiag version
	Inputs   []string      // paths as given on the command line
	Stats    evtx.Stats    // what the decoders read and could not read
	Engine   engine.Stats  // what the rules saw
	Duration time.Duration // wall time of the scan
	Now      time.Time     // reference time for countdowns
	FailOn   string        // severity threshold for a failing verdict, or "none"

	Rules               []RuleRef // every rule that ran
	Findings            []Item    // ranked, rank 1 first
	Suppressed          []suppress.Suppressed
	ExpiredSuppressions []suppress.Expired
	// Histogram counts, per UTC day, the events that reached the rules
	// (the decoder's filter drops the rest before their time is read).
	Histogram []engine.Bucket
	// Config is the licensing configuration read from the registry or .reg
	// exports, by the host it belongs to (tsdiag scan ties an export to a
	// host by its folder or file name); nil when none was read.
	Config map[string]regcfg.Config
	// Window is the time window applied (--since, --until) and how many
	// licensing events it set aside.
	Window Window
	// Header holds the --title, --case and --full-paths of the scan.
	Header Header
}

// RuleRef names one rule that ran.
type RuleRef struct {
	ID, Diagnosis, Title, Severity string
}

// Item is a finding with its knowledge-base article and ranked steps.
type Item struct {
	engine.Finding
	Steps   []kb.RankedStep
	Article *kb.Article // nil when no article has the finding's id
}

// RulesOf lists a rule set for the report.
func RulesOf(set *rules.Set) []RuleRef {
	var out []RuleRef
	for _, r := range set.Rules {
		d := r.Diagnosis
		if d == "" {
			d = r.ID
		}
		out = append(out, RuleRef{ID: r.ID, Diagnosis: d, Title: r.Title, Severity: r.Severity})
	}
	return out
}

// Items attaches articles and ranked steps to findings and renumbers ranks
// 1..n in the given order (suppressed findings leave no gaps).
func Items(findings []engine.Finding, base *kb.Base) []Item {
	out := make([]Item, 0, len(findings))
	for i, f := range findings {
		f.Rank = i + 1
		it := Item{Finding: f}
		if a, ok := article(base, f); ok {
			it.Article = &a
			it.Steps = kb.Rank(CaseOf(f), a)
		}
		out = append(out, it)
	}
	return out
}

// CaseOf is what the knowledge base needs of a finding to rank its steps.
// Its era comes from the evidence of the finding's host (see kb.ErasOf).
func CaseOf(f engine.Finding) kb.Case {
	c := kb.Case{ID: f.ID, Rule: f.Rule, Severity: f.Severity, Confidence: f.Confidence, Count: f.Count,
		Facts: f.Facts, Group: f.Group, Host: f.Host, EventIDs: f.EventIDs(), SpanDays: f.SpanDays()}
	c.Era, c.Eras = kb.ErasOf(hostOf(f), seenOf(f.Evidence), kb.BuildOf(f.Facts))
	return c
}

func hostOf(f engine.Finding) string {
	if h := f.Group["host"]; h != "" {
		return h
	}
	return f.Host
}

func seenOf(ev []engine.Evidence) []kb.Seen {
	out := make([]kb.Seen, len(ev))
	for i, e := range ev {
		out[i] = kb.Seen{Provider: e.Provider, EventID: int(e.EventID), Computer: e.Computer}
	}
	return out
}

func article(base *kb.Base, f engine.Finding) (kb.Article, bool) {
	if base == nil {
		return kb.Article{}, false
	}
	for _, id := range append([]string{f.ID}, f.KB...) {
		if a, ok := base.Get(id); ok {
			return a, true
		}
	}
	return kb.Article{}, false
}

// AtLeast tells whether severity reaches threshold; "none" is never reached.
func AtLeast(severity, threshold string) bool {
	t := rules.SeverityRank(threshold)
	return t >= 0 && rules.SeverityRank(severity) >= t
}

// ValidFailOn checks a --fail-on value.
func ValidFailOn(s string) error {
	if s == "none" || rules.SeverityRank(s) >= 0 {
		return nil
	}
	return fmt.Errorf("--fail-on %q: want one of %s, none", s, strings.Join(rules.Severities, ", "))
}

// Failing lists the findings at or above FailOn.
func (r *Report) Failing() []Item {
	var out []Item
	for _, it := range r.Findings {
		if AtLeast(it.Severity, r.FailOn) {
			out = append(out, it)
		}
	}
	return out
}

// Incomplete tells whether some input could not be read at all, the
// engine reached a bound on groups or findings, or a rule was switched off
// as slow or failing (findings may be missing).
func (r *Report) Incomplete() bool {
	return len(r.Stats.Unreadable) > 0 || r.Engine.GroupsOverflow > 0 || r.Engine.FindingsOverflow > 0 ||
		len(r.Engine.SkippedRules()) > 0
}

// BySeverity counts findings per severity, most severe first, skipping zeros.
func (r *Report) BySeverity() []SeverityCount {
	counts := map[string]int{}
	for _, it := range r.Findings {
		counts[it.Severity]++
	}
	var out []SeverityCount
	for i := len(rules.Severities) - 1; i >= 0; i-- {
		s := rules.Severities[i]
		if counts[s] > 0 {
			out = append(out, SeverityCount{s, counts[s]})
		}
	}
	return out
}

// SeverityCount is one entry of BySeverity.
type SeverityCount struct {
	Severity string
	Count    int
}

// Formats are the names Write accepts.
var Formats = []string{"text", "json", "sarif", "junit", "html", "markdown"}

// Options tune rendering.
type Options struct {
	Color bool // ANSI colour in text output
	// Width is the column text output folds prose at (0: DefaultWidth);
	// commands are never folded.
	Width int
	// Verbose adds the scoring (rule confidence, finding score, step
	// likelihoods) to text output; JSON always carries it.
	Verbose bool
}

// Write renders r in format.
func Write(w io.Writer, r *Report, format string, opts Options) error {
	switch format {
	case "text", "":
		return WriteTextOptions(w, r, opts)
	case "json":
		return WriteJSON(w, r)
	case "sarif":
		return WriteSARIF(w, r)
	case "junit":
		return WriteJUnit(w, r)
	case "html":
		return WriteHTML(w, r)
	case "markdown", "md":
		return WriteMarkdown(w, r)
	}
	return fmt.Errorf("unknown format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// groupText renders a finding's group for people: "client=WS1, host=RD01".
func groupText(f engine.Finding) string {
	var parts []string
	keys := make([]string, 0, len(f.Group))
	for k := range f.Group {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, printable(k+"="+f.Group[k]))
	}
	if f.Host != "" && f.Group["host"] == "" {
		parts = append(parts, printable("host="+f.Host))
	}
	return strings.Join(parts, ", ")
}

// factsText renders facts in name order.
func factsText(facts map[string]any) string {
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, printable(k+"="+factValue(facts[k])))
	}
	return strings.Join(parts, ", ")
}

// valuesText renders an evidence's key values in name order.
func valuesText(v map[string]string) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, printable(k+"="+v[k]))
	}
	return strings.Join(parts, " ")
}

// eventMix counts the evidence's event ids: "1128×3, 1130×1" — which
// events built the finding (from the capped evidence list).
func eventMix(ev []engine.Evidence) string {
	type key struct {
		p  string
		id uint16
	}
	counts := map[key]int{}
	var order []key
	for _, e := range ev {
		k := key{e.Provider, e.EventID}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].id != order[j].id {
			return order[i].id < order[j].id
		}
		return order[i].p < order[j].p
	})
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d ×%d", shortProvider(k.p), k.id, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// shortProvider drops the "Microsoft-Windows-" prefix every licensing
// provider shares.
func shortProvider(p string) string { return strings.TrimPrefix(p, "Microsoft-Windows-") }

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// dayRange returns every UTC day from the first to the last bucket with
// the counts filled in (zero days included), capped to maxDays by folding
// several days into one slot.
func dayRange(b []engine.Bucket, maxDays int) (slots []slot) {
	if len(b) == 0 {
		return nil
	}
	sorted := append([]engine.Bucket(nil), b...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Day.Before(sorted[j].Day) })
	first := truncDay(sorted[0].Day)
	last := truncDay(sorted[len(sorted)-1].Day)
	days := int(last.Sub(first).Hours()/24) + 1
	per := 1
	if maxDays > 0 && days > maxDays {
		per = (days + maxDays - 1) / maxDays
	}
	n := (days + per - 1) / per
	slots = make([]slot, n)
	for i := range slots {
		slots[i].From = first.AddDate(0, 0, i*per)
		slots[i].To = first.AddDate(0, 0, min((i+1)*per, days)-1)
	}
	for _, x := range sorted {
		i := int(truncDay(x.Day).Sub(first).Hours()/24) / per
		slots[i].Count += x.Count
	}
	return slots
}

type slot struct {
	From, To time.Time
	Count    int
}

func (s slot) label() string {
	if s.From.Equal(s.To) {
		return day(s.From)
	}
	return day(s.From) + " – " + day(s.To)
}

func truncDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// DayCounter counts events per UTC day.
type DayCounter struct{ days map[time.Time]int }

// Add counts one event time.
func (h *DayCounter) Add(t time.Time) {
	if t.IsZero() {
		return
	}
	if h.days == nil {
		h.days = map[time.Time]int{}
	}
	h.days[truncDay(t)]++
}

// Buckets returns the counts in day order.
func (h *DayCounter) Buckets() []engine.Bucket {
	out := make([]engine.Bucket, 0, len(h.days))
	for d, n := range h.days {
		out = append(out, engine.Bucket{Day: d, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out
}

func itoa(n int) string { return fmt.Sprint(n) }

// Evidence is engine.Evidence, named here so renderers read plainly.
type Evidence = engine.Evidence

// factValue renders a fact for people: numbers to two decimals at most,
// times as UTC dates (with the time when it is not midnight).
func factValue(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	case float32:
		return factValue(float64(x))
	case time.Time:
		if x.Equal(truncDay(x)) {
			return day(x)
		}
		return stamp(x)
	}
	return rules.Format(roundFact(v))
}

// InputOf names the command-line input a finding's evidence came from (the
// first that holds any of it), "" when none does (e.g. stdin).
func (r *Report) InputOf(f engine.Finding) string {
	for _, in := range r.Inputs {
		if evidenceUnder(f.Evidence, in) {
			return in
		}
	}
	return ""
}

// forText is "who" a finding is about, with its input when several were
// scanned: the same host name may stand for different machines in
// different support bundles.
func (r *Report) forText(f engine.Finding) string {
	who := groupOrAll(f)
	if len(r.Inputs) > 1 {
		if in := r.InputOf(f); in != "" {
			who += " in " + r.DisplayPath(in)
		}
	}
	return who
}

// spread lists, for each evidence value that differs between events
// (clients, users, license servers; not the raw %n params), its distinct
// values: "client: WS-1, WS-2, WS-3". It is how a reader sees at once
// whether one client or many are affected.
func spread(ev []engine.Evidence) []string {
	const maxValues = 8
	seen := map[string]map[string]bool{}
	order := map[string][]string{}
	for _, e := range ev {
		for k, v := range e.Values {
			if strings.HasPrefix(k, "param") || v == "" {
				continue
			}
			if seen[k] == nil {
				seen[k] = map[string]bool{}
			}
			if !seen[k][v] {
				seen[k][v] = true
				order[k] = append(order[k], v)
			}
		}
	}
	var out []string
	for _, k := range sortedKeys(order) {
		vals := order[k]
		if len(vals) < 2 {
			continue
		}
		sort.Strings(vals)
		line := k + ": " + strings.Join(vals[:min(len(vals), maxValues)], ", ")
		if len(vals) > maxValues {
			line += fmt.Sprintf(" … (%d in the kept evidence)", len(vals))
		}
		out = append(out, line)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// causeOf is the finding f is a symptom of, nil when it has none in r.
func (r *Report) causeOf(f engine.Finding) *Item {
	if f.CausedBy == "" {
		return nil
	}
	for i := range r.Findings {
		if r.Findings[i].Key == f.CausedBy {
			return &r.Findings[i]
		}
	}
	return nil
}

// symptomRanks lists f's symptoms as "#2 temporary-cal-expired, #3 …".
func (r *Report) symptomRanks(f engine.Finding) string {
	var parts []string
	for _, it := range r.Findings {
		if slices.Contains(f.Symptoms, it.Key) {
			parts = append(parts, fmt.Sprintf("#%d %s", it.Rank, it.ID))
		}
	}
	return strings.Join(parts, ", ")
}
