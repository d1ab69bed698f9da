package report

import (
	"crypto/sha1"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/engine/suppress"
	"github.com/tsdiag/tsdiag/kb"
)

// WriteSARIF renders SARIF 2.1.0 with go-sarif's typed model: one
// reportingDescriptor per diagnosis (help from the kb article), one result
// per finding located at the newest evidence record (file URI, byte offset
// of the record, and a logical location naming the record id), the other
// evidence records as related locations.
func WriteSARIF(w io.Writer, r *Report) error {
	rep, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	driver := sarif.NewVersionedDriver("tsdiag", numericVersion(r.Tool)).
		WithInformationURI("https://github.com/tsdiag/tsdiag")
	run := sarif.NewRun(*sarif.NewTool(driver))
	index := sarifRules(run, r)
	results := make(map[string]*sarif.Result, len(r.Findings))
	for _, it := range r.Findings {
		res := sarifResult(it, index[it.ID])
		results[it.Key] = res
		run.AddResult(res)
	}
	linkIncidents(r.Findings, results)
	for _, s := range r.Suppressed {
		res := sarifResult(Item{Finding: s.Finding}, index[s.Finding.ID])
		res.AddSuppression(suppression(s, res))
		run.AddResult(res)
	}
	inv := run.AddInvocation(!r.Incomplete())
	for _, u := range r.Stats.Unreadable {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &sarif.Notification{
			Level:   "error",
			Message: sarif.NewTextMessage(u.File + ": " + u.Reason),
		})
	}
	for _, msg := range r.Warnings() {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, &sarif.Notification{
			Level:   "warning",
			Message: sarif.NewTextMessage(msg),
		})
	}
	rep.AddRun(run)
	return rep.PrettyWrite(w)
}

// sarifRules adds one descriptor per diagnosis, in id order, and returns
// each diagnosis' index.
func sarifRules(run *sarif.Run, r *Report) map[string]int {
	type diag struct {
		title, severity string
		rules           []string
		article         *kb.Article
	}
	diags := map[string]*diag{}
	add := func(id, rule, title, severity string, a *kb.Article) {
		d := diags[id]
		if d == nil {
			d = &diag{title: title, severity: severity}
			diags[id] = d
		}
		if a != nil {
			d.article = a
		}
		if rule != "" && !contains(d.rules, rule) {
			d.rules = append(d.rules, rule)
		}
		if AtLeast(severity, d.severity) {
			d.severity = severity
		}
	}
	for _, ru := range r.Rules {
		add(ru.Diagnosis, ru.ID, ru.Title, ru.Severity, nil)
	}
	for _, it := range r.Findings {
		add(it.ID, it.Rule, it.Title, it.Severity, it.Article)
	}
	for _, s := range r.Suppressed {
		add(s.Finding.ID, s.Finding.Rule, s.Finding.Title, s.Finding.Severity, nil)
	}
	ids := make([]string, 0, len(diags))
	for id := range diags {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	index := map[string]int{}
	for i, id := range ids {
		d := diags[id]
		sort.Strings(d.rules)
		rule := sarif.NewRule(id).WithName(ruleName(id)).
			WithShortDescription(sarif.NewMultiformatMessageString(d.title)).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(d.severity)))
		props := sarif.Properties{"severity": d.severity, "rules": d.rules, "tags": []string{"rds-licensing"}}
		if d.article != nil {
			rule.WithFullDescription(sarif.NewMultiformatMessageString(d.article.Summary))
			rule.WithHelp(&sarif.MultiformatMessageString{
				Text:     strPtr(kb.Render(*d.article, kbOrder(*d.article))),
				Markdown: strPtr(articleMarkdown(*d.article)),
			})
		} else {
			rule.WithFullDescription(sarif.NewMultiformatMessageString(d.title))
			rule.WithHelp(sarif.NewMultiformatMessageString("Run `tsdiag kb show " + id + "` for the article."))
		}
		rule.WithProperties(props)
		run.Tool.Driver.AddRule(rule)
		index[id] = i
	}
	return index
}

func sarifResult(it Item, ruleIndex int) *sarif.Result {
	f := it.Finding
	msg := fmt.Sprintf("%s: %s, %s from %s to %s.", f.Title, groupOrAll(f), plural(f.Count, "event"), stamp(f.FirstSeen), stamp(f.LastSeen))
	if f.Status == "resolved" || f.Status == "transient" {
		note := statusNote(f)
		msg += " " + strings.ToUpper(note[:1]) + note[1:] + "."
	}
	if facts := factsText(f.Facts); facts != "" {
		msg += " Facts: " + facts + "."
	}
	if len(it.Steps) > 0 {
		msg += " First step: " + it.Steps[0].Title + "."
	}
	res := sarif.NewRuleResult(f.ID).WithRuleIndex(ruleIndex).
		WithLevel(sarifLevel(f.Severity)).
		WithMessage(sarif.NewTextMessage(msg)).
		WithOccurrenceCount(f.Count).
		WithRank(float32(min(100, f.Score)))
	res.WithPartialFingerPrints(map[string]interface{}{"tsdiagFinding/v1": f.ID + "|" + engine.GroupString(f.Group) + "|" + f.Host})
	if f.Key != "" {
		res.WithGuid(nameUUID(f.Key))
	}
	props := sarif.NewPropertyBag()
	if f.Key != "" {
		props.Add("key", f.Key)
	}
	props.Add("status", f.Status)
	props.Add("rule", f.Rule)
	props.Add("severity", f.Severity)
	props.Add("confidence", f.Confidence)
	props.Add("score", f.Score)
	props.Add("group", nonNilMap(f.Group))
	props.Add("host", f.Host)
	props.Add("first_seen", f.FirstSeen.UTC())
	props.Add("last_seen", f.LastSeen.UTC())
	if len(f.Facts) > 0 {
		props.Add("facts", roundFacts(f.Facts))
	}
	res.AttachPropertyBag(props)
	if n := len(f.Evidence); n > 0 {
		res.AddLocation(evidenceLocation(f.Evidence[n-1], 0))
		for i, e := range f.Evidence[:n-1] {
			res.AddRelatedLocation(evidenceLocation(e, i+1))
		}
	}
	return res
}

func evidenceLocation(e engine.Evidence, id int) *sarif.Location {
	region := sarif.NewRegion().WithByteOffset(int(e.Offset))
	region.WithMessage(sarif.NewTextMessage(fmt.Sprintf("%s %d at %s", e.Provider, e.EventID, stamp(e.Time))))
	loc := sarif.NewLocation().WithId(id).
		WithPhysicalLocation(sarif.NewPhysicalLocation().
			WithArtifactLocation(sarif.NewSimpleArtifactLocation(fileURI(e.File))).
			WithRegion(region))
	name := fmt.Sprintf("record %d", e.RecordID)
	ll := sarif.NewLogicalLocation().WithName(name).WithKind("element").
		WithFullyQualifiedName(e.File + "#" + name)
	loc.AddLogicalLocations(ll)
	if v := valuesText(e.Values); v != "" {
		loc.WithMessage(sarif.NewTextMessage(v))
	}
	return loc
}

// fileURI turns a path (archive members as "bundle.zip!System.evtx") into
// a URI reference: relative paths stay relative, absolute ones become
// file:// URIs.
func fileURI(p string) string {
	slash := filepath.ToSlash(p)
	if filepath.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: slash}).String()
	}
	return (&url.URL{Path: slash}).String()
}

func sarifLevel(sev string) string {
	switch sev {
	case "critical", "high":
		return "error"
	case "medium":
		return "warning"
	}
	return "note"
}

// ruleName turns "grace-period-expired" into "GracePeriodExpired", the
// shape SARIF viewers expect of a rule name.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func groupOrAll(f engine.Finding) string {
	if g := groupText(f); g != "" {
		return g
	}
	return "all events"
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func strPtr(s string) *string { return &s }

// numericVersion gives SARIF viewers a version that starts with a number
// ("v1.2.3" → "1.2.3", "dev" → "0.0.0-dev"), as the spec recommends for
// comparing runs.
func numericVersion(v string) string {
	v = strings.TrimPrefix(orDefault(v, "dev"), "v")
	if v[0] >= '0' && v[0] <= '9' {
		return v
	}
	return "0.0.0-" + v
}

// linkIncidents joins each cause and its symptoms both ways. SARIF has no
// result-to-result link, so each side gets the other's primary location as a
// related location whose message names it ("symptom #2 …", "caused by …"),
// and the guids (from the incident keys) in properties, where a consumer can
// follow them without parsing messages.
func linkIncidents(items []Item, results map[string]*sarif.Result) {
	for _, it := range items {
		res := results[it.Key]
		if res == nil {
			continue
		}
		if cause := results[it.CausedBy]; cause != nil && it.CausedBy != "" {
			relate(res, cause, "caused by "+it.CausedBy+": fix that first")
			res.Properties["caused_by"] = it.CausedBy
			res.Properties["caused_by_guid"] = nameUUID(it.CausedBy)
		}
		var guids []string
		for _, k := range it.Symptoms {
			if sym := results[k]; sym != nil {
				relate(res, sym, "symptom "+k)
				guids = append(guids, nameUUID(k))
			}
		}
		if len(guids) > 0 {
			res.Properties["symptoms"] = it.Symptoms
			res.Properties["symptom_guids"] = guids
		}
	}
}

// relate adds other's primary location to res as a related location, with a
// fresh id so it never clashes with res's own evidence locations.
func relate(res, other *sarif.Result, msg string) {
	if len(other.Locations) == 0 {
		return
	}
	src := other.Locations[0]
	loc := sarif.NewLocation().WithId(len(res.RelatedLocations) + 1).
		WithPhysicalLocation(src.PhysicalLocation).
		WithLogicalLocations(src.LogicalLocations).
		WithMessage(sarif.NewTextMessage(msg))
	res.AddRelatedLocation(loc)
}

// suppression records an accepted finding. go-sarif v2.3.3 writes the
// optional location and guid as null when unset, which the SARIF schema
// rejects, so both are always filled: the result's own location and a
// name-based UUID of the finding and the suppression entry.
func suppression(s suppress.Suppressed, res *sarif.Result) *sarif.Suppression {
	loc := sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{
		sarif.NewLogicalLocation().WithName(s.Finding.ID).WithKind("element")})
	if len(res.Locations) > 0 {
		loc = res.Locations[0]
	}
	key := fmt.Sprintf("%s|%s|%s|%s:%d", s.Finding.ID, engine.GroupString(s.Finding.Group), s.Finding.Host, s.By.File, s.By.Line)
	return sarif.NewSuppression("external").WithStatus("accepted").WithLocation(loc).WithGuid(nameUUID(key)).
		WithJustifcation(fmt.Sprintf("%s (until %s, %s)", s.By.Reason, s.By.ExpiresText(), source(s.By.File, s.By.Line)))
}

// nameUUID is a version-5-shaped UUID from key, stable run to run.
func nameUUID(key string) string {
	h := sha1.Sum([]byte(key))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
