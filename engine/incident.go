package engine

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/rules"
)

// Incidents. Rules describe evidence; an administrator acts on causes. The
// per-rule findings are turned into incidents in four steps:
//
//  1. supersede: a finding whose diagnosis declares superseded_by and whose
//     stale_when holds (a countdown whose date has passed) becomes a
//     finding of the superseding diagnosis;
//  2. merge: all findings of one diagnosis for one host (and one license
//     server where the rule groups by it, or incident_by) are one finding,
//     whatever rule variant matched; other group labels fold into list
//     facts (clients + client_count, …);
//  3. link: a finding whose diagnosis is symptom_of another nests under a
//     finding of that diagnosis seen for the same host (or linked through a
//     license server name);
//  4. order: causes rank by score, each followed directly by its symptoms;
//     a cause takes the worst severity among itself and its active symptoms.
func (e *Engine) incidents(fs []Finding, now time.Time) []Finding {
	supersede(e.set, fs, now)
	rank(fs, now)
	fs = mergeIncidents(e.set, fs)
	fs = explain(e.set, fs)
	link(e.set, fs)
	return order(fs, now)
}

// supersede rewrites stale findings as findings of the diagnosis that
// supersedes them. The rule that fired is kept (Rule); title, KB and
// severity become the superseding diagnosis' own, so nothing says "about
// to expire" about a date that has passed.
func supersede(set *rules.Set, fs []Finding, now time.Time) {
	for i := range fs {
		f := &fs[i]
		for hops := 0; hops < 4; hops++ { // a chain a→b→c is followed; a cycle stops
			d := set.Diagnosis(f.ID)
			if d == nil || d.SupersededBy == "" || !d.IsStale(diagnosisEnv(f, now)) {
				break
			}
			f.ID, f.superseded = d.SupersededBy, true
			f.Facts = staleFacts(f.Facts)
			if r := primaryRule(set, d.SupersededBy); r != nil {
				f.Title, f.KB = r.Title, append([]string{}, r.KB...)
				if f.Status == "" || f.Status == "active" {
					f.Severity = r.Severity
				} else {
					f.OriginalSeverity = r.Severity
				}
			}
		}
	}
}

// staleFacts drops what a superseded countdown says about the future: a
// negative days_left beside "expired" contradicts the title; the date it
// counted down to is when it expired.
func staleFacts(m map[string]any) map[string]any {
	left, ok := m["days_left"].(float64)
	if !ok || left >= 0 {
		return m
	}
	out := copyFacts(m)
	delete(out, "days_left")
	if exp, ok := out["expires"]; ok {
		if _, has := out["expired_since"]; !has {
			out["expired_since"] = exp
		}
	}
	return out
}

func diagnosisEnv(f *Finding, now time.Time) *rules.DiagnosisEnv {
	return &rules.DiagnosisEnv{ID: f.ID, Host: f.Host, Severity: f.Severity, Count: f.Count,
		FirstSeen: f.FirstSeen, LastSeen: f.LastSeen, Now: now, Group: f.Group, Facts: f.Facts}
}

// primaryRule is the rule whose id is the diagnosis, else the first rule
// diagnosing it.
func primaryRule(set *rules.Set, diag string) *rules.Compiled {
	if r := set.Rule(diag); r != nil {
		return r
	}
	for _, r := range set.Rules {
		if r.Diagnosis == diag {
			return r
		}
	}
	return nil
}

// incidentLabels are the group labels that separate incidents of f's
// diagnosis: incident_by when declared (labels not named there fold into
// list facts), else every group label of the rule plus host, and
// license_server when the finding names one. A rule's own grouping is kept
// unless its diagnosis says which labels fold: a rule written to count per
// service or per source address gets one finding per service or address.
func incidentLabels(set *rules.Set, f *Finding) []string {
	if d := set.Diagnosis(f.ID); d != nil && len(d.IncidentBy) > 0 {
		return d.IncidentBy
	}
	labels := []string{"host"}
	if labelValue(f, "license_server") != "" {
		labels = append(labels, "license_server")
	}
	for _, l := range sortedKeys(f.Group) {
		if !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	return labels
}

// labelValue is the value of an incident label: the group's, else (host)
// the finding's computer, else a fact of that name.
func labelValue(f *Finding, label string) string {
	if v := strings.TrimSpace(f.Group[label]); v != "" {
		return v
	}
	if label == "host" {
		return strings.TrimSpace(f.Host)
	}
	if v, ok := f.Facts[label].(string); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// hostish labels name a computer: they compare by short upper-case name,
// so rdsh01.contoso.local and RDSH01 are one host.
func hostish(label string) bool {
	return label == "host" || label == "license_server" || label == "session_host" || strings.HasSuffix(label, "_host")
}

func normLabel(label, v string) string {
	if hostish(label) {
		return HostKey(v)
	}
	return strings.ToLower(v)
}

// incidentKey is "diagnosis@host" plus "/label=value" for every other
// incident label that has a value. A diagnosis whose incidents are not per
// host (incident_by = ["license_server"]: the trouble lives on the license
// server) puts its first label's value where the host goes.
func incidentKey(f *Finding, labels []string) string {
	var b strings.Builder
	b.WriteString(f.ID)
	b.WriteByte('@')
	first := "host"
	if !slices.Contains(labels, "host") && len(labels) > 0 {
		first = labels[0]
	}
	b.WriteString(normLabel(first, labelValue(f, first)))
	for _, l := range labels {
		if l == "host" || l == first {
			continue
		}
		if v := labelValue(f, l); v != "" {
			b.WriteString("/" + l + "=" + normLabel(l, v))
		}
	}
	return b.String()
}

// incident collects the findings of one incident while merging.
type incident struct {
	key     string
	labels  []string
	members []*Finding // in rank order: members[0] is the base
}

// mergeIncidents folds findings (ranked) into one per incident key. A
// finding that lacks a label the others of its diagnosis and host have (a
// per-client renewal refusal that does not name the license server) joins
// that incident when there is exactly one.
func mergeIncidents(set *rules.Set, fs []Finding) []Finding {
	byKey := map[string]*incident{}
	var list []*incident
	for i := range fs {
		f := &fs[i]
		labels := incidentLabels(set, f)
		k := incidentKey(f, labels)
		in := byKey[k]
		if in == nil {
			in = &incident{key: k, labels: labels}
			byKey[k] = in
			list = append(list, in)
		}
		in.members = append(in.members, f)
	}
	list = attachUnlabelled(spreadServerWide(list))
	out := make([]Finding, 0, len(list))
	for _, in := range list {
		out = append(out, in.finding(set))
	}
	return out
}

// spreadServerWide gives a finding about a license server (grouped by
// license_server, not by host: "the licensing service stopped, then a host
// could not reach it") to every host's incident of that diagnosis and
// server. Its host is only the computer of its last event; the other hosts
// that lost the same server are in the same trouble, and a copy carrying
// their host joins each of their incidents.
func spreadServerWide(list []*incident) []*incident {
	byServer := map[string][]*incident{}
	server := func(in *incident) string {
		m := in.members[0]
		if ls := labelValue(m, "license_server"); ls != "" && slices.Contains(in.labels, "host") {
			return m.ID + "|" + HostKey(ls)
		}
		return ""
	}
	for _, in := range list {
		if k := server(in); k != "" {
			byServer[k] = append(byServer[k], in)
		}
	}
	for _, group := range byServer {
		if len(group) < 2 {
			continue
		}
		var wide []*Finding
		for _, in := range group {
			for _, m := range in.members {
				if strings.TrimSpace(m.Group["host"]) == "" && strings.TrimSpace(m.Group["license_server"]) != "" {
					wide = append(wide, m)
				}
			}
		}
		for _, in := range group {
			host := labelValue(in.members[0], "host")
			for _, w := range wide {
				if HostKey(w.Host) != HostKey(host) {
					c := *w
					c.Host = host
					in.members = append(in.members, &c)
				}
			}
		}
	}
	return list
}

// attachUnlabelled merges an incident keyed only "diagnosis@host" into the
// one incident of that diagnosis and host that has further labels.
func attachUnlabelled(list []*incident) []*incident {
	wider := map[string][]*incident{}
	for _, in := range list {
		if base, _, more := strings.Cut(in.key, "/"); more {
			wider[base] = append(wider[base], in)
		}
	}
	out := list[:0]
	for _, in := range list {
		if w := wider[in.key]; !strings.Contains(in.key, "/") && len(w) == 1 {
			w[0].members = append(w[0].members, in.members...)
			continue
		}
		out = append(out, in)
	}
	// The base is the best-ranked member that is the diagnosis' own: a
	// superseded countdown joins the expired incident but does not lead it.
	for _, in := range out {
		sort.SliceStable(in.members, func(i, j int) bool {
			a, b := in.members[i], in.members[j]
			if a.superseded != b.superseded {
				return b.superseded
			}
			return a.Rank < b.Rank
		})
	}
	return out
}

// finding builds the incident's one finding from its best-ranked member.
func (in *incident) finding(set *rules.Set) Finding {
	base := *in.members[0]
	f := base
	f.Key = in.key
	f.Group = map[string]string{}
	for _, l := range in.labels {
		if v := labelValue(&base, l); v != "" {
			f.Group[l] = v
		}
	}
	f.Facts = copyFacts(base.Facts)
	if f.Status == "" {
		f.Status = "active"
	}
	if len(in.members) > 1 {
		in.fold(set, &f)
	}
	in.foldLabels(&f)
	dropEmptyFacts(f.Facts)
	return f
}

// dropEmptyFacts removes facts without a value (a parameter the event
// does not carry, a date that did not parse): "license_server=" says
// nothing and reads as if the server had an empty name.
func dropEmptyFacts(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case string:
			if strings.TrimSpace(x) == "" {
				delete(m, k)
			}
		}
	}
}

func copyFacts(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// fold merges the other members into f. Counts: rules of one diagnosis
// often see the same events (the per-host rule and the after-stop rule
// both count the host's 1131s), while findings of one rule (one per
// client) see different ones; so the incident's count is the largest
// per-rule total, and its timeline the largest per-rule count of each day.
// A fact a rule defines as its Count (refusals = "Count") is a count too:
// it is totalled the same way, so an incident folding a license server's
// two CAL types says refusals=80 beside its 80 events, not the first
// type's 40.
func (in *incident) fold(set *rules.Set, f *Finding) {
	perRule := map[string]int{}
	countFacts := map[string]map[string]int{} // fact -> rule -> total
	perDay := map[string]map[int64]int{}
	also := map[string]bool{}
	var ev []Evidence
	active := false
	for _, m := range in.members {
		perRule[m.Rule] += m.Count
		if perDay[m.Rule] == nil {
			perDay[m.Rule] = map[int64]int{}
		}
		for _, b := range m.Timeline {
			perDay[m.Rule][b.Day.Unix()] += b.Count
		}
		if m.Rule != f.Rule {
			also[m.Rule] = true
		}
		for _, a := range m.AlsoMatched {
			also[a] = true
		}
		if m.FirstSeen.Before(f.FirstSeen) {
			f.FirstSeen = m.FirstSeen
		}
		if m.LastSeen.After(f.LastSeen) {
			f.LastSeen = m.LastSeen
		}
		if m.Confidence > f.Confidence {
			f.Confidence = m.Confidence
		}
		isActive := m.Status == "" || m.Status == "active"
		if isActive {
			if !active || rules.SeverityRank(m.Severity) > rules.SeverityRank(f.Severity) {
				if !active {
					f.Severity, f.Status, f.OriginalSeverity = m.Severity, "active", m.OriginalSeverity
					f.ResolvedAt, f.LastedSeconds = time.Time{}, 0
				} else {
					f.Severity = m.Severity
				}
			}
			active = true
		}
		ev = append(ev, m.Evidence...)
		if r := set.Rule(m.Rule); r != nil {
			for k, src := range r.Rule.Facts { // the source expressions
				n, ok := m.Facts[k].(int)
				if strings.TrimSpace(src) != "Count" || !ok {
					continue
				}
				if countFacts[k] == nil {
					countFacts[k] = map[string]int{}
				}
				countFacts[k][m.Rule] += n
			}
		}
		for k, v := range m.Facts {
			if _, ok := f.Facts[k]; !ok {
				f.Facts[k] = v
			}
		}
	}
	f.Count = 0
	for _, n := range perRule {
		f.Count = max(f.Count, n)
	}
	for k, byRule := range countFacts {
		total, _ := f.Facts[k].(int)
		for _, n := range byRule {
			total = max(total, n)
		}
		f.Facts[k] = total
	}
	f.Timeline = maxTimeline(perDay)
	f.Evidence = mergeEvidence(ev)
	delete(also, f.Rule)
	f.AlsoMatched = sortedKeys(also)
	if len(f.AlsoMatched) == 0 {
		f.AlsoMatched = nil
	}
}

func maxTimeline(perDay map[string]map[int64]int) []Bucket {
	days := map[int64]int{}
	for _, m := range perDay {
		for d, n := range m {
			days[d] = max(days[d], n)
		}
	}
	out := make([]Bucket, 0, len(days))
	for d, n := range days {
		out = append(out, Bucket{Day: time.Unix(d, 0).UTC(), Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out
}

// mergeEvidence keeps each event once, in time order, within the same cap
// as one rule's evidence: the first EvidenceHead and the last EvidenceTail.
func mergeEvidence(ev []Evidence) []Evidence {
	type id struct {
		file      string
		offset    int64
		record    uint64
		t         int64
		eventID   uint16
		computer  string
		provider  string
		firstParm string
	}
	seen := map[id]bool{}
	out := ev[:0:0]
	for _, e := range ev {
		k := id{e.File, e.Offset, e.RecordID, e.Time.UnixNano(), e.EventID, e.Computer, e.Provider, e.Values["param1"]}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if n := EvidenceHead + EvidenceTail; len(out) > n {
		out = append(out[:EvidenceHead:EvidenceHead], out[len(out)-EvidenceTail:]...)
	}
	return out
}

// foldLabels turns the group labels that are not incident labels (client,
// user, cal_type…) into list facts: "<label>s" (sorted values) and
// "<label>_count" (exact; the list stops at MaxDistinct values). A
// singular fact of that name is dropped when it would name just one of
// several.
func (in *incident) foldLabels(f *Finding) {
	isIncident := map[string]bool{}
	for _, l := range in.labels {
		isIncident[l] = true
	}
	values := map[string]map[string]bool{}
	add := func(label, v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		if values[label] == nil {
			values[label] = map[string]bool{}
		}
		values[label][v] = true // bounded by the members, already in memory
	}
	for _, m := range in.members {
		for l, v := range m.Group {
			if !isIncident[l] {
				add(l, v)
				// A rule may already list the values (a distinct rule's facts).
				if list, ok := m.Facts[l+"s"].([]string); ok {
					for _, x := range list {
						add(l, x)
					}
				}
			}
		}
	}
	// The session hosts a license server refused are named by a fact of
	// each member (the 21's %3), not a label: keep them all.
	for _, m := range in.members {
		if v, ok := m.Facts["session_host"].(string); ok && !isIncident["session_host"] {
			add("session_host", v)
		}
	}
	for l, set := range values {
		list := sortedKeys(set)
		f.Facts[l+"_count"] = len(list)
		if len(list) > MaxDistinct { // the count stays exact; the list is for reading
			list = list[:MaxDistinct]
		}
		f.Facts[l+"s"] = list
		if len(set) > 1 {
			delete(f.Facts, l)
		}
	}
}

// link nests symptoms under causes. A symptom goes under the best-ranked
// finding of a diagnosis it is symptom_of that is linked to it; causes
// that are themselves symptoms pass their symptoms on to their own cause,
// so nesting is one level deep and never circular.
func link(set *rules.Set, fs []Finding) {
	byKey := make(map[string]int, len(fs))
	for i := range fs {
		byKey[fs[i].Key] = i
	}
	root := func(i int) int {
		for hops := 0; fs[i].CausedBy != "" && hops < len(fs); hops++ {
			i = byKey[fs[i].CausedBy]
		}
		return i
	}
	byDiag := map[string][]int{} // in rank order
	for i := range fs {
		byDiag[fs[i].ID] = append(byDiag[fs[i].ID], i)
	}
	for i := range fs { // fs is in rank order
		d := set.Diagnosis(fs[i].ID)
		if d == nil || len(d.SymptomOf) == 0 {
			continue
		}
		c := bestCause(fs, byDiag, i, d.SymptomOf)
		if c < 0 {
			continue
		}
		r := root(c)
		if r == i {
			continue // i already causes c: no cycle
		}
		fs[i].CausedBy = fs[r].Key
		fs[r].Symptoms = append(fs[r].Symptoms, fs[i].Key)
		for _, k := range fs[i].Symptoms {
			j := byKey[k]
			fs[j].CausedBy = fs[r].Key
			fs[r].Symptoms = append(fs[r].Symptoms, k)
		}
		fs[i].Symptoms = nil
	}
}

// bestCause is the best-ranked finding of one of the cause diagnoses
// linked to finding s, -1 when none is.
func bestCause(fs []Finding, byDiag map[string][]int, s int, causes []string) int {
	best := -1
	for _, c := range causes {
		for _, j := range byDiag[c] {
			if j != s && (best < 0 || j < best) && linked(&fs[s], &fs[j]) && explains(&fs[j], &fs[s]) {
				best = j
				break
			}
		}
	}
	return best
}

// explains: a cause that has recovered (resolved) or never persisted
// (transient) does not explain trouble that is still active; that symptom
// stands on its own and keeps its own rank.
func explains(cause, symptom *Finding) bool {
	return isActive(cause) || !isActive(symptom)
}

func isActive(f *Finding) bool { return f.Status == "" || f.Status == "active" }

// linked: same host; or the symptom's license server is the cause's host;
// or the cause's license server is the symptom's host; or the cause (a
// license server event) names the symptom's host as the session host it
// refused.
func linked(s, c *Finding) bool {
	sh, ch := HostKey(labelValue(s, "host")), HostKey(labelValue(c, "host"))
	if sh == "" || ch == "" {
		return false
	}
	sl, cl := labelValue(s, "license_server"), labelValue(c, "license_server")
	if sh == ch {
		// One host, two named license servers: two stories.
		return sl == "" || cl == "" || HostKey(sl) == HostKey(cl)
	}
	if ls := labelValue(s, "license_server"); ls != "" && HostKey(ls) == ch {
		return true
	}
	if ls := labelValue(c, "license_server"); ls != "" && HostKey(ls) == sh {
		return true
	}
	if v := labelValue(c, "session_host"); v != "" && HostKey(v) == sh {
		return true
	}
	// A license server's incident folds the session hosts it refused.
	for _, name := range []string{"session_hosts", "hosts"} {
		list, _ := c.Facts[name].([]string)
		for _, v := range list {
			if HostKey(v) == sh {
				return true
			}
		}
	}
	return false
}

// order lists causes by score, each followed by its symptoms; a cause
// takes the worst severity of its active symptoms (keeping its own in
// OriginalSeverity) and is scored again.
func order(fs []Finding, now time.Time) []Finding {
	byKey := make(map[string]int, len(fs))
	for i := range fs {
		byKey[fs[i].Key] = i
	}
	for i := range fs {
		f := &fs[i]
		for _, k := range f.Symptoms {
			s := &fs[byKey[k]]
			if (s.Status == "" || s.Status == "active") && rules.SeverityRank(s.Severity) > rules.SeverityRank(f.Severity) {
				if f.OriginalSeverity == "" {
					f.OriginalSeverity = f.Severity
				}
				f.Severity = s.Severity
			}
		}
		f.Score = Score(f, now)
	}
	var roots []int
	for i := range fs {
		if fs[i].CausedBy == "" {
			roots = append(roots, i)
		}
	}
	byScore := func(ix []int) {
		sort.SliceStable(ix, func(a, b int) bool { return Compare(&fs[ix[a]], &fs[ix[b]]) < 0 })
	}
	byScore(roots)
	out := make([]Finding, 0, len(fs))
	for _, r := range roots {
		out = append(out, fs[r])
		var syms []int
		for _, k := range fs[r].Symptoms {
			syms = append(syms, byKey[k])
		}
		byScore(syms)
		cause := len(out) - 1
		out[cause].Symptoms = nil
		for _, s := range syms {
			out[cause].Symptoms = append(out[cause].Symptoms, fs[s].Key)
			out = append(out, fs[s])
		}
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// HasLabel reports whether f is the incident of label=value: its group
// holds that value, or the label was folded into f's "<label>s" list fact
// (a client among the incident's clients).
func HasLabel(f *Finding, label, value string) bool {
	if f.Group[label] == value {
		return true
	}
	list, _ := f.Facts[label+"s"].([]string)
	for _, v := range list {
		if v == value {
			return true
		}
	}
	return false
}

// QualifyKeys keeps keys unique when the findings of several engines are
// merged into one report (scan --separate: two cases may both have an
// RDSH01): a key already taken gets suffix, and so do the caused_by and
// symptoms that refer to it within fs. taken gains fs' keys.
func QualifyKeys(fs []Finding, taken map[string]bool, suffix string) {
	renamed := map[string]string{}
	for i := range fs {
		if k := fs[i].Key; taken[k] {
			renamed[k] = k + suffix
		}
	}
	rename := func(k string) string {
		if n, ok := renamed[k]; ok {
			return n
		}
		return k
	}
	for i := range fs {
		f := &fs[i]
		f.Key, f.CausedBy = rename(f.Key), rename(f.CausedBy)
		for j, s := range f.Symptoms {
			f.Symptoms[j] = rename(s)
		}
		taken[f.Key] = true
	}
}

// Unlink drops causal links to findings no longer in fs (a suppressed or
// filtered cause or symptom): a symptom whose cause is gone stands on its
// own instead of pointing at nothing, and a cause does not list symptoms
// that are not shown.
func Unlink(fs []Finding) []Finding {
	in := make(map[string]bool, len(fs))
	for _, f := range fs {
		in[f.Key] = true
	}
	for i := range fs {
		f := &fs[i]
		if f.CausedBy != "" && !in[f.CausedBy] {
			f.CausedBy = ""
		}
		if len(f.Symptoms) > 0 {
			kept := make([]string, 0, len(f.Symptoms))
			for _, k := range f.Symptoms {
				if in[k] {
					kept = append(kept, k)
				}
			}
			f.Symptoms = kept
			if len(kept) == 0 {
				f.Symptoms = nil
			}
		}
	}
	return fs
}
