// Package live follows the Windows event log: a subscription (EvtSubscribe)
// to the licensing channels with an XPath query built from the rule set, a
// bookmark saved atomically after each batch so that no event is lost or
// seen twice across restarts, and each event's rendered XML decoded by the
// same reader that reads XML exports.
//
// Everything except the Windows API calls (query building, the state file,
// bookmark parsing, de-duplication, XML decoding) is portable and tested on
// every platform; the API calls live in files built only on Windows.
package live

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// Channels are the logs the licensing events are written to (kb-reference
// §1: classic sources and RCM in System, RCM Admin/Operational, and the
// license server's own channels).
var Channels = []string{
	"System",
	"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin",
	"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
	"Microsoft-Windows-TerminalServices-Licensing/Admin",
	"Microsoft-Windows-TerminalServices-Licensing/Operational",
}

// KnownProviders are the licensing-related providers as Windows spells
// them. The event log's XPath compares names as written, and rule sets may
// hold names in any case, so Spell restores these spellings.
var KnownProviders = []string{
	"TermService",
	"TermServLicensing",
	"Microsoft-Windows-TerminalServices-RemoteConnectionManager",
	"Microsoft-Windows-TerminalServices-Licensing",
	"Microsoft-Windows-TerminalServices-LocalSessionManager",
	"Service Control Manager",
}

// Spell returns name as Windows writes it: from spellings (e.g. the rule
// files' own), then KnownProviders, else unchanged.
func Spell(name string, spellings ...string) string {
	for _, list := range [][]string{spellings, KnownProviders} {
		for _, s := range list {
			if strings.EqualFold(s, name) {
				return s
			}
		}
	}
	return name
}

// Ref is one (provider, event id) pair a rule can match.
type Ref struct {
	Provider string
	ID       uint16
}

// MaxExpressions is the most XPath expressions tsdiag puts in one Select.
//
// Microsoft documents two figures: "Each XPath that you specify is limited
// to 32 expressions" (Query Schema,
// https://learn.microsoft.com/en-us/windows/win32/wes/queryschema-schema) and
// "If your XPath contains more than 20 expressions, use a structured XML
// query" (EvtSubscribe function, Query parameter,
// https://learn.microsoft.com/en-us/windows/win32/api/winevt/nf-winevt-evtsubscribe;
// Consuming Events,
// https://learn.microsoft.com/en-us/windows/win32/wes/consuming-events).
// Winlogbeat's maintainers reproduced "The specified query is invalid" at 22
// EventID clauses, and at 21 with ranges mixed in and a time test
// (elastic/beats issues #1491, #35047, #35048). So every Select here holds
// at most 20 expressions, counting a range as two (>= and <=), each provider
// test and the time test as one: under every figure reported. Where the
// limit really lies on each Windows version is unconfirmed.
const MaxExpressions = 20

// Query describes what to subscribe to.
type Query struct {
	Channels []string
	Refs     []Ref     // from the rule set; providers are taken from here
	Since    time.Time // when not zero, only events created at or after it
	// ProvidersOnly leaves event ids out (the in-process filter applies
	// them): the fallback when Windows rejects a query anyway.
	ProvidersOnly bool
}

// Select is one <Select> of the structured query: a channel and an XPath
// of at most MaxExpressions expressions.
type Select struct {
	Path        string
	XPath       string
	Expressions int
}

// Why several Selects per channel rather than one provider-only Select:
// the event-id filter then runs in the event log service, so the System
// log's unrelated events (most of it) are never rendered and sent to
// tsdiag; a QueryList's Selects are a union, so splitting a long filter
// over several Selects of one channel selects exactly what the long filter
// would. The in-process filter still runs on everything delivered.

// Selects splits the query into Selects within MaxExpressions: per channel,
// each provider's event ids in chunks (consecutive ids as one range), small
// chunks of several providers packed into one Select.
func (q Query) Selects() ([]Select, error) {
	if len(q.Channels) == 0 {
		return nil, fmt.Errorf("live query: no channels")
	}
	if len(q.Refs) == 0 {
		return nil, fmt.Errorf("live query: the rule set selects no events")
	}
	for _, r := range q.Refs {
		// The event log's XPath has no escape for a quote inside a literal.
		if strings.ContainsAny(r.Provider, "'\"") || r.Provider == "" {
			return nil, fmt.Errorf("live query: provider name %q cannot be queried", r.Provider)
		}
	}
	timeTerm, timeCost := "", 0
	if !q.Since.IsZero() {
		timeTerm, timeCost = "TimeCreated[@SystemTime>='"+q.Since.UTC().Format("2006-01-02T15:04:05.000Z")+"']", 1
	}
	budget := MaxExpressions - timeCost
	var groups []term // each within budget on its own
	for _, p := range q.providers() {
		groups = append(groups, q.providerTerms(p, budget)...)
	}
	// Pack groups into Selects, first fit in order: few Selects, each a
	// union of whole (provider and ids) terms.
	var packs [][]term
	var costs []int
	for _, g := range groups {
		placed := false
		for i := range packs {
			if costs[i]+g.cost <= budget {
				packs[i], costs[i], placed = append(packs[i], g), costs[i]+g.cost, true
				break
			}
		}
		if !placed {
			packs, costs = append(packs, []term{g}), append(costs, g.cost)
		}
	}
	var out []Select
	for _, ch := range q.Channels {
		for i, pk := range packs {
			texts := make([]string, len(pk))
			for j, t := range pk {
				texts[j] = t.text
			}
			cond := strings.Join(texts, " or ")
			if len(texts) > 1 {
				cond = "(" + cond + ")"
			}
			if timeTerm != "" {
				cond += " and " + timeTerm
			}
			out = append(out, Select{Path: ch, XPath: "*[System[" + cond + "]]", Expressions: costs[i] + timeCost})
		}
	}
	return out, nil
}

// XML builds the structured query (a QueryList with the Selects) that
// EvtSubscribe takes with a nil channel path.
func (q Query) XML() (string, error) {
	sels, err := q.Selects()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("<QueryList>\n  <Query Id=\"0\">\n")
	for _, s := range sels {
		fmt.Fprintf(&b, "    <Select Path=\"%s\">%s</Select>\n", xmlEscape(s.Path), xmlEscape(s.XPath))
	}
	b.WriteString("  </Query>\n</QueryList>")
	return b.String(), nil
}

// Match tells whether ev, read from one of the query's channels, is one
// its XPath selects: provider and id, time. (The Select's Path chooses the
// log; the event's own Channel element is not tested, so a forwarded
// event of "System" in ForwardedEvents matches.) Provider names compare
// as written, as the service compares them.
func (q Query) Match(ev *evtx.Event) bool {
	if !q.Since.IsZero() && ev.TimeCreated.Before(q.Since) {
		return false
	}
	for _, r := range q.Refs {
		if r.Provider == ev.Provider && (q.ProvidersOnly || r.ID == ev.EventID) {
			return true
		}
	}
	return false
}

// term is a piece of a Select condition with its expression count.
type term struct {
	text string
	cost int
}

func (q Query) providers() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range q.Refs {
		if !seen[r.Provider] {
			seen[r.Provider] = true
			out = append(out, r.Provider)
		}
	}
	sort.Strings(out)
	return out
}

// providerTerms are provider p's tests, "(Provider and (ids))", in as many
// chunks as the budget needs; one bare provider test when ProvidersOnly.
func (q Query) providerTerms(p string, budget int) []term {
	prov := "Provider[@Name='" + p + "']"
	if q.ProvidersOnly {
		return []term{{prov, 1}}
	}
	var ids []uint16
	for _, r := range q.Refs {
		if r.Provider == p {
			ids = append(ids, r.ID)
		}
	}
	var out []term
	var chunk []term
	cost := 1 // the provider test
	emit := func() {
		if len(chunk) == 0 {
			return
		}
		texts := make([]string, len(chunk))
		for i, c := range chunk {
			texts[i] = c.text
		}
		idc := texts[0]
		if len(texts) > 1 {
			idc = "(" + strings.Join(texts, " or ") + ")"
		}
		out = append(out, term{"(" + prov + " and " + idc + ")", cost})
		chunk, cost = nil, 1
	}
	for _, t := range idTerms(ids) {
		if cost+t.cost > budget {
			emit()
		}
		chunk, cost = append(chunk, t), cost+t.cost
	}
	emit()
	return out
}

// idTerms renders ids as EventID comparisons, runs of consecutive ids as
// one range (two expressions).
func idTerms(ids []uint16) []term {
	ids = append([]uint16(nil), ids...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var terms []term
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] <= ids[j]+1 {
			j++
		}
		if ids[i] == ids[j] {
			terms = append(terms, term{fmt.Sprintf("EventID=%d", ids[i]), 1})
		} else {
			terms = append(terms, term{fmt.Sprintf("(EventID>=%d and EventID<=%d)", ids[i], ids[j]), 2})
		}
		i = j + 1
	}
	return terms
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
