package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/kb"
)

// WriteHTML renders one self-contained page: inline CSS, inline SVG, no
// script, no font or image fetched from anywhere, so it can be mailed to a
// customer and opened offline.
func WriteHTML(w io.Writer, r *Report) error {
	return pageTmpl.Execute(w, htmlView(r))
}

type htmlPage struct {
	R         *Report
	Verdict   string
	StatsLine string
	Histogram template.HTML
	Findings  []htmlFinding
	Tool      string
	Schema    string
	Now       string
}

type htmlFinding struct {
	Item
	Anchor    string
	Group     string
	Facts     string
	First     string
	Last      string
	Seen      string
	Timeline  template.HTML
	EventMix  string
	Spread    []string
	Evidence  []htmlEvidence
	StepsView []htmlStep
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
		R: r, Verdict: mdVerdict(r), Tool: orDefault(r.Tool, "dev"), Schema: orDefault(r.Version, SchemaVersion),
		Now:       stamp(r.Now),
		Histogram: svgBars(r.Histogram, "Events that reached the rules, per day (all inputs)", 880, 140),
	}
	s := r.Stats
	p.StatsLine = fmt.Sprintf("Read %s, %s (%d damaged records, %d damaged chunks); %s reached the rules, %d matched; %s.",
		plural(s.Files, "file"), plural(s.Records, "record"), s.DamagedRecords, s.DamagedChunks,
		plural(s.Matched, "event"), r.Engine.Matched, r.Duration.Round(1e6))
	for _, it := range r.Findings {
		hf := htmlFindingOf(it)
		hf.Group = r.forText(it.Finding)
		p.Findings = append(p.Findings, hf)
	}
	return p
}

func htmlFindingOf(it Item) htmlFinding {
	f := it.Finding
	hf := htmlFinding{
		Item: it, Anchor: fmt.Sprintf("f%d", f.Rank), Group: groupOrAll(f), Facts: factsText(f.Facts),
		First: stamp(f.FirstSeen), Last: stamp(f.LastSeen),
		Seen:     fmt.Sprintf("%s on %s", plural(f.Count, "event"), plural(len(f.Timeline), "day")),
		Timeline: svgBars(f.Timeline, fmt.Sprintf("%s: events per day", f.ID), 880, 110),
		EventMix: eventMix(f.Evidence), Spread: spread(f.Evidence),
	}
	for _, e := range f.Evidence {
		hf.Evidence = append(hf.Evidence, htmlEvidence{Time: stamp(e.Time), Event: fmt.Sprintf("%s %d", shortProvider(e.Provider), e.EventID),
			File: e.File, Record: e.RecordID, Values: valuesText(e.Values)})
	}
	for _, s := range it.Steps {
		hs := htmlStep{Rank: s.Rank, Title: s.Title, Tag: kb.StepTag(s), Versions: kb.VersionsText(s), Detail: s.Detail,
			Why: s.Why, Verify: s.Verify, Decides: s.Decides, LastResort: s.LastResort(),
			Backup: htmlCommands(s.Backup), Commands: htmlCommands(s.Commands), Verifies: htmlCommands(s.VerifyCommands)}
		hf.StepsView = append(hf.StepsView, hs)
	}
	return hf
}

// svgBars draws a bar per day (or per few days when the span is long) with
// the first and last dates and the peak labelled; each bar has a <title>
// tooltip with its date and count.
func svgBars(b []engine.Bucket, label string, width, height int) template.HTML {
	slots := dayRange(b, 120)
	if len(slots) == 0 {
		return template.HTML(`<p class="muted">No events.</p>`)
	}
	peak := 0
	for _, s := range slots {
		peak = max(peak, s.Count)
	}
	const left, right, top, bottom = 40, 10, 12, 22
	plotW, plotH := width-left-right, height-top-bottom
	// A bar is at most 48 px wide, so one day does not read as a long span.
	barW := min(48, float64(plotW)/float64(len(slots)))
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		width, height, width, height, html.EscapeString(label))
	fmt.Fprintf(&sb, `<title>%s</title>`, html.EscapeString(label))
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, top+plotH, left+plotW, top+plotH)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">%d</text>`, left-4, top+8, peak)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">0</text>`, left-4, top+plotH)
	for i, s := range slots {
		if s.Count == 0 {
			continue
		}
		h := max(1.0, float64(s.Count)*float64(plotH)/float64(peak))
		x := float64(left) + float64(i)*barW
		fmt.Fprintf(&sb, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d</title></rect>`,
			x+0.5, float64(top+plotH)-h, max(1.0, barW-1), h, html.EscapeString(s.label()), s.Count)
	}
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick">%s</text>`, left, height-6, day(slots[0].From))
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, left+plotW, height-6, day(slots[len(slots)-1].To))
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tsdiag {{.Tool}}">
<title>tsdiag: {{.Verdict}}</title>
<style>
:root { --crit:#b00020; --high:#d32f2f; --med:#ef6c00; --low:#0277bd; --info:#546e7a; --fg:#1d232a; --muted:#5f6b76; --line:#d9dee3; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 2rem auto; max-width: 960px; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.muted, .tick { color: var(--muted); fill: var(--muted); font-size: 11px; }
.sev { display: inline-block; padding: 0 .5em; border-radius: 3px; color: #fff; font-weight: 600; font-size: .8rem; text-transform: uppercase; }
.sev-critical { background: var(--crit); } .sev-high { background: var(--high); } .sev-medium { background: var(--med); } .sev-low { background: var(--low); } .sev-info { background: var(--info); }
table { border-collapse: collapse; width: 100%; font-size: .88rem; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
code, pre { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: .85rem; }
pre { background: #f4f6f8; padding: .5rem .7rem; border-radius: 4px; overflow-x: auto; white-space: pre-wrap; }
.finding { border: 1px solid var(--line); border-radius: 6px; padding: .3rem 1rem 1rem; margin: 1.2rem 0; }
.chart { max-width: 100%; height: auto; } .chart .bar { fill: #3f6fb5; } .chart .axis { stroke: var(--muted); stroke-width: 1; }
ol.steps > li { margin-bottom: .9rem; } .risk { font-size: .8rem; color: var(--muted); } .last { color: var(--crit); font-weight: 600; }
.warn { background: #fff4e5; border-left: 4px solid var(--med); padding: .4rem .7rem; margin: .4rem 0; }
</style>
</head>
<body>
<header>
<h1>Remote Desktop licensing diagnosis</h1>
<p id="verdict"><strong>{{.Verdict}}</strong>{{if .R.FailOn}} · verdict at --fail-on {{.R.FailOn}}: {{if .R.Failing}}<strong>fails</strong>{{else if .R.Window.AllSetAside}}<strong>nothing diagnosed</strong>{{else}}passes{{end}}{{end}}</p>
<p class="muted" id="stats">{{.StatsLine}}</p>
<p class="muted">Inputs: {{range $i, $in := .R.Inputs}}{{if $i}}, {{end}}<code>{{$in}}</code>{{end}} · reference time {{.Now}}</p>
{{range .R.Warnings}}<p class="warn window">Warning: {{.}}</p>
{{end}}{{range .R.ConfigLines}}<p class="muted config">Configuration seen: {{.}}</p>
{{end}}{{range .R.Stats.Unreadable}}<p class="warn">Unreadable: <code>{{.File}}</code>: {{.Reason}}</p>{{end}}
{{range .R.ExpiredSuppressions}}<p class="warn">Expired suppression: <code>{{.Diagnosis}}</code> expired {{.ExpiresText}} ({{.Reason}}) and no longer applies; {{.Matched}} finding(s) back in this report.</p>{{end}}
</header>
<section id="histogram">
<h2>Events over time</h2>
<p class="muted">Licensing-relevant events per UTC day, all inputs (events no rule can match are skipped before decoding).</p>
{{.Histogram}}
</section>
{{if .Findings}}
<section id="summary">
<h2>Findings</h2>
<table>
<thead><tr><th>#</th><th>Severity</th><th>Diagnosis</th><th>For</th><th>Events</th><th>Last seen (UTC)</th></tr></thead>
<tbody>
{{range .Findings}}<tr><td>{{.Rank}}</td><td><span class="sev sev-{{.Severity}}">{{.Severity}}</span></td><td><a href="#{{.Anchor}}"><code>{{.ID}}</code></a> {{.Title}}</td><td>{{.Group}}</td><td>{{.Count}}</td><td>{{.Last}}</td></tr>
{{end}}</tbody>
</table>
</section>
{{else}}
<p id="none">No licensing problem found in these logs.</p>
{{end}}
{{range .Findings}}
<section class="finding" id="{{.Anchor}}" data-diagnosis="{{.ID}}" data-rank="{{.Rank}}">
<h2>{{.Rank}}. <span class="sev sev-{{.Severity}}">{{.Severity}}</span> <code>{{.ID}}</code> — {{if .Article}}{{.Article.Title}}{{else}}{{.Title}}{{end}}</h2>
{{if .Article}}<p>{{.Article.Summary}}</p>{{end}}
<p><strong>For:</strong> {{.Group}} · <strong>Seen:</strong> {{.Seen}}, {{.First}} → {{.Last}}{{if .Facts}} · <strong>Facts:</strong> <code>{{.Facts}}</code>{{end}}</p>
<p class="muted">rule <code>{{.Rule}}</code> · confidence {{printf "%.2f" .Confidence}} · score {{printf "%.2f" .Score}}</p>
{{range .Spread}}<p class="muted">{{.}}</p>{{end}}
<div class="timeline">{{.Timeline}}</div>
{{if .Evidence}}<details><summary>Evidence: {{len .Evidence}} of {{.Count}} events ({{.EventMix}})</summary>
<table><thead><tr><th>Time (UTC)</th><th>Event</th><th>File</th><th>Record</th><th>Values</th></tr></thead><tbody>
{{range .Evidence}}<tr><td>{{.Time}}</td><td>{{.Event}}</td><td><code>{{.File}}</code></td><td>{{.Record}}</td><td>{{.Values}}</td></tr>
{{end}}</tbody></table></details>{{end}}
{{if .StepsView}}<h3>What to do, in order</h3>
<ol class="steps">
{{range .StepsView}}<li value="{{.Rank}}"><strong>{{.Title}}</strong> <span class="risk">[{{.Tag}}]</span>{{if .LastResort}} <span class="last">last resort</span>{{end}}
<div class="muted">Applies to: {{.Versions}}</div>
<div>{{.Detail}}</div>
{{if .Decides}}<div><em>Decides:</em> {{.Decides}}</div>{{end}}
{{if .Why}}<div class="muted">Why here: {{.Why}}</div>{{end}}
{{range .Backup}}<div>Back up first ({{.Shell}}):</div><pre class="cmd" data-shell="{{.Shell}}">{{.Run}}</pre>
{{end}}{{range .Commands}}<div>Run ({{.Shell}}):</div><pre class="cmd" data-shell="{{.Shell}}">{{.Run}}</pre>
{{end}}{{if .Verify}}<div><em>Verify:</em> {{.Verify}}</div>{{end}}
{{range .Verifies}}<div>Verify with ({{.Shell}}):</div><pre class="cmd" data-shell="{{.Shell}}">{{.Run}}</pre>
{{end}}</li>
{{end}}</ol>{{end}}
{{if .Article}}{{if .Article.References}}<h3>References</h3>
<ul class="refs">
{{range .Article.References}}<li>{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}}{{end}}</li>
{{end}}</ul>{{end}}{{end}}
</section>
{{end}}
{{if .R.Suppressed}}<section id="suppressed"><h2>Suppressed</h2><ul>
{{range .R.Suppressed}}<li><code>{{.Finding.ID}}</code> until {{.By.ExpiresText}}: {{.By.Reason}}</li>
{{end}}</ul></section>{{end}}
<footer><p class="muted">tsdiag {{.Tool}} · report schema {{.Schema}}</p></footer>
</body>
</html>
`))
