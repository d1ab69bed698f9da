package report

import (
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/kb"
)

// The JSON report, schema version 1.x. Field names are a public contract;
// docs/report-schema.json (testdata/report.schema.json) describes them.
type jsonReport struct {
	Schema              string          `json:"schema"` // always "tsdiag-report"
	SchemaVersion       string          `json:"schema_version"`
	Tool                jsonTool        `json:"tool"`
	Now                 time.Time       `json:"now"`
	Inputs              []string        `json:"inputs"`
	FailOn              string          `json:"fail_on"`
	Failed              bool            `json:"failed"`     // a finding at or above fail_on
	Incomplete          bool            `json:"incomplete"` // an input could not be read
	Summary             jsonSummary     `json:"summary"`
	Stats               jsonStats       `json:"stats"`
	Findings            []jsonFinding   `json:"findings"`
	Suppressed          []jsonSuppress  `json:"suppressed"`
	ExpiredSuppressions []jsonExpired   `json:"expired_suppressions"`
	Histogram           []engine.Bucket `json:"histogram"`
	// Config (schema 1.1) is the licensing configuration by host; absent
	// when no registry or .reg export was read.
	Config map[string]regcfg.Config `json:"config,omitempty"`
	// Window (schema 1.2) is the time window applied; absent when neither
	// --since nor --until was given.
	Window *jsonWindow `json:"window,omitempty"`
	// Warnings (schema 1.2) are conditions that make the result less than
	// it looks, e.g. a window that set aside licensing events.
	Warnings []string `json:"warnings,omitempty"`
}

type jsonWindow struct {
	Since       *time.Time `json:"since,omitempty"`
	Until       *time.Time `json:"until,omitempty"`
	Before      int        `json:"set_aside_before"`
	After       int        `json:"set_aside_after"`
	Kept        int        `json:"kept"`
	AllSetAside bool       `json:"all_set_aside"`
	Newest      *time.Time `json:"newest_event,omitempty"`
	// Cases (schema 1.4): each --separate case's own window.
	Cases []jsonCaseWindow `json:"cases,omitempty"`
}

type jsonCaseWindow struct {
	Input  string     `json:"input"`
	Since  *time.Time `json:"since,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Before int        `json:"set_aside_before"`
	After  int        `json:"set_aside_after"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	Findings   int            `json:"findings"`
	Highest    string         `json:"highest"` // most severe finding, "" when none
	BySeverity map[string]int `json:"by_severity"`
	Suppressed int            `json:"suppressed"`
}

type jsonStats struct {
	Files           int           `json:"files"`
	Bytes           int64         `json:"bytes"`
	Records         int           `json:"records"`
	DamagedRecords  int           `json:"damaged_records"`
	DamagedChunks   int           `json:"damaged_chunks"`
	SelectedEvents  int           `json:"selected_events"` // passed the rules' (provider, event id) filter
	MatchedEvents   int           `json:"matched_events"`  // matched at least one rule
	OutOfRange      int           `json:"out_of_range_events"`
	LateEvents      int           `json:"late_events"`
	EvalErrors      int           `json:"eval_errors"`
	DurationSeconds float64       `json:"duration_seconds"`
	Damages         []evtx.Damage `json:"damages"`
	Unreadable      []evtx.Damage `json:"unreadable"`
	Skipped         []evtx.Damage `json:"skipped"`
	// Schema 1.2: records set aside as copies of records already read.
	Duplicates       int            `json:"duplicates,omitempty"`
	DuplicatesByFile map[string]int `json:"duplicates_by_file,omitempty"`
	// Schema 1.3: what the bounds left out (counted, not kept).
	UnreadableOmitted int      `json:"unreadable_omitted,omitempty"`
	SkippedOmitted    int      `json:"skipped_omitted,omitempty"`
	DamagesOmitted    int      `json:"damages_omitted,omitempty"`
	GroupsOverflow    int      `json:"groups_overflow,omitempty"`
	FindingsOverflow  int      `json:"findings_overflow,omitempty"`
	OverflowRules     []string `json:"overflow_rules,omitempty"`
	// Rules whose evaluations failed or that were switched off (slow, failing).
	RuleProblems []engine.RuleProblem `json:"rule_problems,omitempty"`
}

type jsonFinding struct {
	ID          string            `json:"id"`
	Rule        string            `json:"rule"`
	Title       string            `json:"title"`
	Severity    string            `json:"severity"`
	Confidence  float64           `json:"confidence"`
	Score       float64           `json:"score"`
	Rank        int               `json:"rank"`
	Group       map[string]string `json:"group"`
	Host        string            `json:"host"`
	Input       string            `json:"input"` // the command-line input its evidence came from
	FirstSeen   time.Time         `json:"first_seen"`
	LastSeen    time.Time         `json:"last_seen"`
	Count       int               `json:"count"`
	Facts       map[string]any    `json:"facts"`
	Evidence    []engine.Evidence `json:"evidence"`
	Timeline    []engine.Bucket   `json:"timeline"`
	Summary     string            `json:"summary"`
	Remediation []jsonStep        `json:"remediation"`
	KB          []string          `json:"kb"`
	// The incident (schema 1.2): its key, its cause, its symptoms.
	Key      string   `json:"key,omitempty"`
	CausedBy string   `json:"caused_by,omitempty"`
	Symptoms []string `json:"symptoms,omitempty"`
	// Status and what goes with it (engine.Finding).
	Status           string    `json:"status,omitempty"`
	OriginalSeverity string    `json:"original_severity,omitempty"`
	ResolvedAt       time.Time `json:"resolved_at,omitempty,omitzero"`
	LastedSeconds    float64   `json:"lasted_seconds,omitempty"`
}

type jsonStep struct {
	Rank       int      `json:"rank"`
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Risk       string   `json:"risk"`
	Where      string   `json:"where"`
	Detail     string   `json:"detail"`
	Backup     []string `json:"backup"`
	Commands   []string `json:"commands"`
	Verify     string   `json:"verify"`
	LastResort bool     `json:"last_resort"`
	Why        string   `json:"why"`
	// Schema 1.3: the step's phase and what it decides (checks), the
	// Windows versions it applies to (era_unsure: the evidence does not
	// show the host runs one of them), whether it disconnects users, and
	// each command with its shell, to paste as is.
	Phase            string       `json:"phase"`
	Decides          string       `json:"decides,omitempty"`
	Windows          []string     `json:"windows,omitempty"`
	EraUnsure        bool         `json:"era_unsure,omitempty"`
	DisconnectsUsers bool         `json:"disconnects_users"`
	Shell            []kb.Command `json:"shell_commands"`
	VerifyShell      []kb.Command `json:"verify_commands,omitempty"`
}

type jsonSuppress struct {
	ID      string            `json:"id"`
	Rule    string            `json:"rule"`
	Group   map[string]string `json:"group"`
	Host    string            `json:"host"`
	Count   int               `json:"count"`
	Reason  string            `json:"reason"`
	Expires string            `json:"expires"`
	Source  string            `json:"source"` // file:line of the suppression
}

type jsonExpired struct {
	Diagnosis string            `json:"diagnosis"`
	Group     map[string]string `json:"group"`
	Reason    string            `json:"reason"`
	Expires   string            `json:"expires"`
	Source    string            `json:"source"`
	Matched   int               `json:"matched"` // findings it would have hidden
}

// WriteJSON renders the versioned JSON report, indented, one trailing newline.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(toJSON(r))
}

func toJSON(r *Report) jsonReport {
	out := jsonReport{
		Schema:        "tsdiag-report",
		SchemaVersion: orDefault(r.Version, SchemaVersion),
		Tool:          jsonTool{Name: "tsdiag", Version: r.Tool},
		Now:           r.Now.UTC(),
		Inputs:        nonNil(r.Inputs),
		FailOn:        orDefault(r.FailOn, "none"), // unset means nothing fails
		Failed:        len(r.Failing()) > 0,
		Incomplete:    r.Incomplete(),
		Stats:         statsJSON(r),
		Findings:      []jsonFinding{},
		Suppressed:    []jsonSuppress{},
		Histogram:     nonNil(r.Histogram),
		Config:        r.Config,
		Window:        windowJSON(r.Window),
		Warnings:      r.Warnings(),
	}
	out.Summary = jsonSummary{Findings: len(r.Findings), BySeverity: map[string]int{}, Suppressed: len(r.Suppressed)}
	for i, sc := range r.BySeverity() {
		if i == 0 {
			out.Summary.Highest = sc.Severity
		}
		out.Summary.BySeverity[sc.Severity] = sc.Count
	}
	for _, it := range r.Findings {
		jf := findingJSON(it)
		jf.Input = r.InputOf(it.Finding)
		out.Findings = append(out.Findings, jf)
	}
	for _, s := range r.Suppressed {
		out.Suppressed = append(out.Suppressed, jsonSuppress{
			ID: s.Finding.ID, Rule: s.Finding.Rule, Group: nonNilMap(s.Finding.Group), Host: s.Finding.Host,
			Count: s.Finding.Count, Reason: s.By.Reason, Expires: s.By.ExpiresText(), Source: source(s.By.File, s.By.Line),
		})
	}
	out.ExpiredSuppressions = []jsonExpired{}
	for _, e := range r.ExpiredSuppressions {
		out.ExpiredSuppressions = append(out.ExpiredSuppressions, jsonExpired{
			Diagnosis: e.Diagnosis, Group: nonNilMap(e.Group), Reason: e.Reason, Expires: e.ExpiresText(),
			Source: source(e.File, e.Line), Matched: e.Matched,
		})
	}
	return out
}

func windowJSON(w Window) *jsonWindow {
	if w.Since.IsZero() && w.Until.IsZero() {
		return nil
	}
	out := &jsonWindow{Since: timePtr(w.Since), Until: timePtr(w.Until), Before: w.Before, After: w.After,
		Kept: w.Kept, AllSetAside: w.AllSetAside(), Newest: timePtr(w.Newest)}
	for _, c := range w.Cases {
		out.Cases = append(out.Cases, jsonCaseWindow{Input: c.Input, Since: timePtr(c.Since), Until: timePtr(c.Until), Before: c.Before, After: c.After})
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func statsJSON(r *Report) jsonStats {
	s := r.Stats
	return jsonStats{
		Files: s.Files, Bytes: s.Bytes, Records: s.Records,
		DamagedRecords: s.DamagedRecords, DamagedChunks: s.DamagedChunks,
		SelectedEvents: s.Matched, MatchedEvents: r.Engine.Matched,
		OutOfRange: r.Engine.Skipped, LateEvents: r.Engine.Late, EvalErrors: r.Engine.EvalErrors,
		DurationSeconds: float64(r.Duration.Round(time.Millisecond)) / float64(time.Second),
		Damages:         nonNil(s.Damages), Unreadable: nonNil(s.Unreadable), Skipped: nonNil(s.Skipped),
		Duplicates: r.Engine.Duplicates, DuplicatesByFile: r.Engine.DuplicatesByFile,
		UnreadableOmitted: s.UnreadableOmitted, SkippedOmitted: s.SkippedOmitted, DamagesOmitted: s.DamagesOmitted,
		GroupsOverflow: r.Engine.GroupsOverflow, FindingsOverflow: r.Engine.FindingsOverflow, OverflowRules: r.Engine.OverflowRules,
		RuleProblems: r.Engine.RuleProblems,
	}
}

func findingJSON(it Item) jsonFinding {
	f := it.Finding
	out := jsonFinding{
		ID: f.ID, Rule: f.Rule, Title: f.Title, Severity: f.Severity, Confidence: f.Confidence,
		Score: f.Score, Rank: f.Rank, Group: nonNilMap(f.Group), Host: f.Host,
		FirstSeen: f.FirstSeen.UTC(), LastSeen: f.LastSeen.UTC(), Count: f.Count,
		Facts: f.Facts, Evidence: nonNil(f.Evidence), Timeline: nonNil(f.Timeline),
		Remediation: []jsonStep{}, KB: nonNil(f.KB),
		Key: f.Key, CausedBy: f.CausedBy, Symptoms: f.Symptoms,
		Status: f.Status, OriginalSeverity: f.OriginalSeverity, ResolvedAt: f.ResolvedAt.UTC(), LastedSeconds: f.LastedSeconds,
	}
	out.Facts = roundFacts(f.Facts)
	if it.Article != nil {
		out.Summary = it.Article.Summary
	}
	for _, s := range it.Steps {
		out.Remediation = append(out.Remediation, jsonStep{
			Rank: s.Rank, ID: s.ID, Title: s.Title, Risk: s.Risk, Where: s.Where, Detail: s.Detail,
			Backup: kb.Lines(s.Backup), Commands: kb.Lines(s.Commands), Verify: s.Verify,
			LastResort: s.LastResort(), Why: s.Why,
			Phase: s.Phase, Decides: s.Decides, Windows: s.Windows, EraUnsure: s.EraUnsure,
			DisconnectsUsers: s.DisconnectsUsers, Shell: nonNil([]kb.Command(s.Commands)),
			VerifyShell: s.VerifyCommands,
		})
	}
	return out
}

func source(file string, line int) string {
	if file == "" {
		return ""
	}
	if line == 0 {
		return file
	}
	return file + ":" + itoa(line)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// jsonLine is one line of watch and live --format jsonl (schema
// $defs/finding_line and $defs/config_line): the finding in the shape of
// the json report's findings, so one consumer reads both.
type jsonLine struct {
	Type    string                   `json:"type"` // "finding" or "config"
	Change  string                   `json:"change,omitempty"`
	Time    time.Time                `json:"time"`
	Finding *jsonFinding             `json:"finding,omitempty"`
	Config  map[string]regcfg.Config `json:"config,omitempty"`
}

// WriteFindingLine writes one finding that appeared or changed ("new",
// "updated") at wall time at, as one JSON line.
func WriteFindingLine(w io.Writer, change string, at time.Time, it Item, cfg map[string]regcfg.Config) error {
	jf := findingJSON(it)
	return writeLine(w, jsonLine{Type: "finding", Change: change, Time: at.UTC(), Finding: &jf, Config: cfg})
}

// WriteConfigLine writes the licensing configuration by host as one JSON
// line, before any finding.
func WriteConfigLine(w io.Writer, at time.Time, cfg map[string]regcfg.Config) error {
	return writeLine(w, jsonLine{Type: "config", Time: at.UTC(), Config: nonNilConfig(cfg)})
}

func writeLine(w io.Writer, l jsonLine) error {
	enc := json.NewEncoder(w) // Encode ends the line
	enc.SetEscapeHTML(false)
	return enc.Encode(l)
}

func nonNilConfig(m map[string]regcfg.Config) map[string]regcfg.Config {
	if m == nil {
		return map[string]regcfg.Config{}
	}
	return m
}

// FactValue renders a fact for people, the one rule every text output
// uses: numbers to two decimals at most, times as UTC dates (with the time
// when it is not midnight).
func FactValue(v any) string { return factValue(v) }

// roundFacts copies facts with every number rounded to two decimals, the
// rule every format follows (factValue for the text ones): a fact computed
// from durations (days_left 9.700000000000001) must not read differently in
// the JSON than in the report beside it.
func roundFacts(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = roundFact(v)
	}
	return out
}

func roundFact(v any) any {
	switch x := v.(type) {
	case float64:
		return math.Round(x*100) / 100
	case float32:
		return math.Round(float64(x)*100) / 100
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = roundFact(e)
		}
		return out
	case []float64:
		out := make([]float64, len(x))
		for i, e := range x {
			out[i] = math.Round(e*100) / 100
		}
		return out
	}
	return v
}
