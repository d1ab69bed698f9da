package report

import (
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/kb"
)

// WriteHTML renders one self-contained page: inline CSS, inline SVG, no
// script, no font or image fetched from anywhere, so it can be mailed to a
// customer and opened offline. The only URLs are the articles' references,
// as links.
func WriteHTML(w io.Writer, r *Report) error {
	return pageTmpl.Execute(w, htmlView(r))
}

// DefaultHTMLTitle is the page's heading when the scan gave no --title.
const DefaultHTMLTitle = "Remote Desktop licensing diagnosis"

type htmlPage struct {
	R         *Report
	Title     string
	Case      string
	Verdict   string
	StatsLine string
	Inputs    []string
	Config    []string
	// Unreadable pairs each unreadable input with the reason.
	Unreadable []htmlKV
	Histogram  template.HTML
	Timeline   *tlView
	Findings   []htmlFinding
	Tool       string
	Schema     string
	Now        string
}

type htmlFinding struct {
	Item
	Anchor     string
	Heading    string   // the same title in the table and on the card
	For        []htmlKV // label and value; a line may break after the "=", never inside a host name
	InputName  string
	Facts      []htmlKV
	First      string
	Last       string
	LastDay    string // Last in two parts the table may wrap between
	LastTime   string
	Seen       string
	Status     string
	StatusNote string
	Chart      template.HTML
	EventMix   string
	Spread     []string
	Evidence   []htmlEvidence
	StepsView  []htmlStep
	Cause      *htmlRef
	Symptoms   []htmlRef
	References []kb.Reference
}

type htmlKV struct{ K, V string }

// htmlRef points at another finding of the page.
type htmlRef struct {
	Anchor, ID string
	Rank       int
}

type htmlEvidence struct {
	Time, Event, File, Values string
	Record                    uint64
}

type htmlStep struct {
	Rank                       int
	Title, Tag, Versions       string
	Detail, Why, Verify        string
	Decides                    string
	Backup, Commands, Verifies []htmlCommand
	LastResort                 bool
}

// htmlCommand is one command block, labelled with its shell.
type htmlCommand struct{ Shell, Run string }

func htmlCommands(cs []kb.Command) []htmlCommand {
	out := make([]htmlCommand, 0, len(cs))
	for _, c := range cs {
		out = append(out, htmlCommand{Shell: kb.ShellName(c.Shell), Run: c.Run})
	}
	return out
}

func htmlView(r *Report) htmlPage {
	p := htmlPage{
		R: r, Title: orDefault(strings.TrimSpace(r.Header.Title), DefaultHTMLTitle), Case: strings.TrimSpace(r.Header.Case),
		Verdict: mdVerdict(r), Tool: orDefault(r.Tool, "dev"), Schema: orDefault(r.Version, SchemaVersion),
		Now:       stamp(r.Now),
		Histogram: svgBars(r.Histogram, "Events that reached the rules, per day (all inputs)", 150),
		Timeline:  timelineOf(r),
	}
	s := r.Stats
	p.StatsLine = fmt.Sprintf("Read %s, %s (%d damaged records, %d damaged chunks); %s reached the rules, %d matched; %s.",
		plural(s.Files, "file"), plural(s.Records, "record"), s.DamagedRecords, s.DamagedChunks,
		plural(s.Matched, "event"), r.Engine.Matched, r.Duration.Round(1e6))
	for _, in := range r.Inputs {
		p.Inputs = append(p.Inputs, r.inputName(in))
	}
	for _, l := range r.ConfigLines() {
		p.Config = append(p.Config, r.shortPaths(l))
	}
	for _, u := range r.Stats.Unreadable {
		p.Unreadable = append(p.Unreadable, htmlKV{printable(r.shortPaths(u.File)), printable(r.shortPaths(u.Reason))})
	}
	for _, it := range r.Findings {
		p.Findings = append(p.Findings, r.htmlFindingOf(it))
	}
	return p
}

func (r *Report) htmlFindingOf(it Item) htmlFinding {
	f := it.Finding
	hf := htmlFinding{
		Item: it, Anchor: fmt.Sprintf("f%d", f.Rank), Heading: f.Title, For: forParts(f),
		First: stamp(f.FirstSeen), Last: stamp(f.LastSeen), LastDay: day(f.LastSeen), LastTime: f.LastSeen.UTC().Format("15:04:05Z"), Status: statusOf(f), StatusNote: statusNote(f),
		Seen:     fmt.Sprintf("%s on %s", plural(f.Count, "event"), plural(len(f.Timeline), "day")),
		Chart:    svgBars(f.Timeline, fmt.Sprintf("%s: events per day", f.ID), 120),
		EventMix: eventMix(f.Evidence), Spread: spread(f.Evidence),
	}
	if it.Article != nil {
		hf.Heading = orDefault(it.Article.Title, f.Title)
		hf.References = it.Article.References
	}
	if len(r.Inputs) > 1 {
		if in := r.InputOf(f); in != "" {
			hf.InputName = r.inputName(in)
		}
	}
	for _, k := range sortedKeys(f.Facts) {
		hf.Facts = append(hf.Facts, htmlKV{printable(k), printable(factValue(f.Facts[k]))})
	}
	if c := r.causeOf(f); c != nil {
		hf.Cause = &htmlRef{Anchor: fmt.Sprintf("f%d", c.Rank), ID: c.ID, Rank: c.Rank}
	}
	for _, s := range r.Findings {
		if contains(f.Symptoms, s.Key) {
			hf.Symptoms = append(hf.Symptoms, htmlRef{Anchor: fmt.Sprintf("f%d", s.Rank), ID: s.ID, Rank: s.Rank})
		}
	}
	for _, e := range f.Evidence {
		hf.Evidence = append(hf.Evidence, htmlEvidence{Time: stamp(e.Time), Event: fmt.Sprintf("%s %d", shortProvider(e.Provider), e.EventID),
			File: printable(r.shortPaths(e.File)), Record: e.RecordID, Values: valuesText(e.Values)})
	}
	// A symptom's steps are its cause's: the card points there instead of
	// repeating them (as text and Markdown do).
	if hf.Cause == nil {
		for _, s := range it.Steps {
			hf.StepsView = append(hf.StepsView, htmlStep{Rank: s.Rank, Title: s.Title, Tag: kb.StepTag(s), Versions: kb.VersionsText(s),
				Detail: s.Detail, Why: s.Why, Verify: s.Verify, Decides: s.Decides, LastResort: s.LastResort(),
				Backup: htmlCommands(s.Backup), Commands: htmlCommands(s.Commands), Verifies: htmlCommands(s.VerifyCommands)})
		}
	}
	return hf
}

// forParts is whom a finding is about, one "label=value" per part, each
// kept on one line by the page (host names hold hyphens).
func forParts(f engine.Finding) []htmlKV {
	var out []htmlKV
	for _, k := range sortedKeys(f.Group) {
		out = append(out, htmlKV{printable(k), printable(f.Group[k])})
	}
	if f.Host != "" && f.Group["host"] == "" {
		out = append(out, htmlKV{"host", printable(f.Host)})
	}
	if len(out) == 0 {
		out = []htmlKV{{V: "all events"}}
	}
	return out
}

// episodesNote tells a trouble that came back and healed several times (a
// nightly restart: "after 7 days in 8 episodes, the last 3 minutes") from
// one that lasted the whole span; "" for a single episode.
func episodesNote(f engine.Finding, dur func(time.Duration) string) string {
	n, _ := f.Facts["episodes"].(int)
	last, ok := f.Facts["last_episode_seconds"].(float64)
	if n < 2 || !ok {
		return ""
	}
	return fmt.Sprintf(" in %d episodes, the last %s", n, dur(time.Duration(last*float64(time.Second))))
}

// statusNote says when a resolved incident ended and how long it lasted, or
// why a transient one raised no alarm.
func statusNote(f engine.Finding) string {
	was := ""
	if f.OriginalSeverity != "" && f.OriginalSeverity != f.Severity {
		was = " (would be " + f.OriginalSeverity + ")"
	}
	switch f.Status {
	case "resolved":
		return fmt.Sprintf("resolved at %s after %s%s%s", stamp(f.ResolvedAt), durationText(time.Duration(f.LastedSeconds*float64(time.Second))),
			episodesNote(f, durationText), was)
	case "transient":
		return "transient: below the rule's persistence threshold" + was
	}
	return "active"
}

// durationText is a duration for people: "2 days 4 hours", "35 minutes".
func durationText(d time.Duration) string {
	if d < time.Hour {
		return plural(int(d.Round(time.Minute).Minutes()), "minute")
	}
	if d < 48*time.Hour {
		h := int(d.Hours())
		m := int(d.Round(time.Minute).Minutes()) - 60*h
		if m == 0 {
			return plural(h, "hour")
		}
		return plural(h, "hour") + " " + plural(m, "minute")
	}
	return spanText(d)
}

// inputName is a command-line input as the page shows it: its name, not the
// scanning machine's directories, unless --full-paths.
func (r *Report) inputName(in string) string {
	if r.Header.FullPaths || in == "-" {
		return printable(in)
	}
	return printable(filepath.Base(filepath.Clean(in)))
}

// shortPaths drops the directories that hold the inputs from a file name
// or a line naming files: /home/me/cases/bundle.zip!System.evtx reads
// bundle.zip!System.evtx, as the reader of the page knows the bundle.
func (r *Report) shortPaths(s string) string {
	if r.Header.FullPaths {
		return s
	}
	var dirs []string
	for _, in := range r.Inputs {
		if in == "-" {
			continue
		}
		if d := filepath.Dir(filepath.Clean(in)); d != "." && d != "" {
			dirs = append(dirs, d)
		}
	}
	// The deepest directory first, so a nested input keeps its own name.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		for _, sep := range []string{"/", `\`} {
			s = strings.ReplaceAll(s, strings.TrimRight(d, sep)+sep, "")
		}
	}
	return s
}

// pct formats a position on an axis, in percent, for a style attribute.
func pct(f float64) string { return fmt.Sprintf("%.3f", f) }

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{"pct": pct}).Parse(pageHTML))
