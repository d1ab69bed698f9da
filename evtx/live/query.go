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

// MaxIDTerms caps the event-id terms per provider in the query: the event
// log's XPath subset rejects long expressions, so beyond this the query
// selects the provider only and the in-process filter does the rest.
const MaxIDTerms = 20

// Query describes what to subscribe to.
type Query struct {
	Channels []string
	Refs     []Ref     // from the rule set; providers are taken from here
	Since    time.Time // when not zero, only events created at or after it
	// ProvidersOnly leaves event ids out (the in-process filter applies
	// them): the fallback when Windows rejects a long query.
	ProvidersOnly bool
}

// XML builds the structured query (a QueryList with one Select per channel)
// that EvtSubscribe takes with a nil channel path.
func (q Query) XML() (string, error) {
	if len(q.Channels) == 0 {
		return "", fmt.Errorf("live query: no channels")
	}
	if len(q.Refs) == 0 {
		return "", fmt.Errorf("live query: the rule set selects no events")
	}
	for _, r := range q.Refs {
		// The event log's XPath has no escape for a quote inside a literal.
		if strings.ContainsAny(r.Provider, "'\"") || r.Provider == "" {
			return "", fmt.Errorf("live query: provider name %q cannot be queried", r.Provider)
		}
	}
	expr := "*[System[" + q.condition() + "]]"
	var b strings.Builder
	b.WriteString("<QueryList>\n  <Query Id=\"0\">\n")
	for _, ch := range q.Channels {
		fmt.Fprintf(&b, "    <Select Path=\"%s\">%s</Select>\n", xmlEscape(ch), xmlEscape(expr))
	}
	b.WriteString("  </Query>\n</QueryList>")
	return b.String(), nil
}

// condition is the System[…] predicate: the providers, each with its event
// ids, and the time bound.
func (q Query) condition() string {
	byProv := map[string][]uint16{}
	var provs []string
	for _, r := range q.Refs {
		k := r.Provider
		if _, ok := byProv[k]; !ok {
			provs = append(provs, k)
		}
		byProv[k] = append(byProv[k], r.ID)
	}
	sort.Strings(provs)
	terms := make([]string, 0, len(provs))
	for _, p := range provs {
		t := "Provider[@Name='" + p + "']"
		if ids := idTerms(byProv[p]); ids != "" && !q.ProvidersOnly {
			t = "(" + t + " and " + ids + ")"
		}
		terms = append(terms, t)
	}
	cond := strings.Join(terms, " or ")
	if len(terms) > 1 {
		cond = "(" + cond + ")"
	}
	if !q.Since.IsZero() {
		cond += " and TimeCreated[@SystemTime>='" + q.Since.UTC().Format("2006-01-02T15:04:05.000Z") + "']"
	}
	return cond
}

// idTerms renders ids as EventID comparisons, runs of consecutive ids as
// one range; "" when there are too many terms to be accepted.
func idTerms(ids []uint16) string {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var terms []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] <= ids[j]+1 {
			j++
		}
		if ids[i] == ids[j] {
			terms = append(terms, fmt.Sprintf("EventID=%d", ids[i]))
		} else {
			terms = append(terms, fmt.Sprintf("(EventID>=%d and EventID<=%d)", ids[i], ids[j]))
		}
		i = j + 1
	}
	if len(terms) > MaxIDTerms {
		return ""
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return "(" + strings.Join(terms, " or ") + ")"
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
