package report

// pageCSS is the page's only style sheet. Severity never rests on hue
// alone: each badge and timeline bar also differs in fill, outline or
// pattern, and carries its name, so a grey-scale print tells critical from
// high. Below 820 px on screen the tables become one block per row (no sideways
// scrolling at 600 px); in print the links show their address. Chart
// labels are sized in the SVG's units and the chart scales with its box, so
// narrow screens and print set them larger to keep them readable.
const pageCSS = `
:root { --crit:#7a0012; --high:#c62828; --med:#f0a000; --low:#0b61a4; --info:#546e7a; --fg:#1d232a; --muted:#56616b; --line:#d9dee3; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); margin: 1.5rem auto; max-width: 1000px; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
h3 { font-size: 1rem; }
.muted, .tick { color: var(--muted); fill: var(--muted); font-size: .8rem; }
svg .tick { font-size: 13px; }
#case { font-size: 1.05rem; margin: .2rem 0 .6rem; }
.nb, .host, .id { white-space: nowrap; }
code, pre { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: .85rem; }
pre { background: #f4f6f8; padding: .5rem .7rem; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; }
a { color: #0b57a4; }
.sev { display: inline-block; padding: 0 .45em; border-radius: 3px; font-weight: 700; font-size: .78rem; text-transform: uppercase; letter-spacing: .02em; border: 2px solid transparent; white-space: nowrap; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.sev-critical { background: var(--crit); color: #fff; border-color: var(--crit); }
.sev-critical::before { content: "\25C6\25C6 "; }
.sev-high { background: #fff; color: var(--high); border-color: var(--high); }
.sev-high::before { content: "\25C6 "; }
.sev-medium { background: #ffd666; color: #3b2a00; border-color: #ffd666; }
.sev-low { background: #fff; color: var(--low); border: 1px dotted var(--low); }
.sev-info { background: #eceff1; color: #37474f; border: 1px dashed #78909c; }
.status { font-size: .8rem; border: 1px solid var(--line); border-radius: 3px; padding: 0 .4em; white-space: nowrap; }
.status-resolved { border-color: #2e7d32; color: #1b5e20; } .status-transient { border-style: dashed; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; } th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.values { overflow-wrap: anywhere; }
tr.symptom td:first-child { padding-left: 1.2rem; }
.finding { border: 1px solid var(--line); border-radius: 6px; padding: .3rem 1rem 1rem; margin: 1.2rem 0; }
.finding.symptom { margin-left: 1.5rem; border-left: 4px solid var(--line); }
.finding h2 { border: 0; margin-top: .8rem; }
.link { margin: .3rem 0; padding: .3rem .6rem; background: #f4f6f8; border-radius: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: .2rem .8rem; padding: 0; margin: .3rem 0; list-style: none; } .facts li { overflow-wrap: anywhere; }
.chart { width: 100%; height: auto; display: block; } .chart .bar { fill: #3f6fb5; } .chart .axis { stroke: var(--muted); stroke-width: 1; } .chart .grid { stroke: var(--line); stroke-dasharray: 3 3; }
ol.steps > li { margin-bottom: .9rem; } .risk { font-size: .8rem; color: var(--muted); } .last { color: var(--crit); font-weight: 600; }
.warn { background: #fff4e5; border-left: 4px solid var(--med); padding: .4rem .7rem; margin: .4rem 0; }
.tl { margin: .5rem 0 1rem; padding: 0 6px; } /* room for marks centred on the ends */
.tl-lane { border-top: 1px solid var(--line); padding: .3rem 0 .4rem; }
.tl-host { font-weight: 700; font-size: .9rem; }
.tl-row { margin: .15rem 0 .35rem; }
.tl-label { font-size: .82rem; }
.tl-symptom .tl-label { padding-left: 1rem; }
.tl-track { position: relative; height: 18px; background: #f4f6f8; border-radius: 2px; margin-top: 2px; }
.tl-span { position: absolute; top: 5px; bottom: 5px; min-width: 3px; border: 1px solid transparent; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.sp-critical { background: var(--crit); border-color: var(--crit); }
.sp-high { background: repeating-linear-gradient(135deg, var(--high) 0 3px, #fff 3px 6px); border-color: var(--high); }
.sp-medium { background: repeating-linear-gradient(0deg, #b37400 0 2px, #ffe9a8 2px 4px); border-color: #b37400; }
.sp-low { background: #d4e6f7; border: 1px dotted var(--low); }
.sp-info { background: #fff; border: 1px dashed #616161; }
.tl-ev { position: absolute; top: 0; bottom: 0; width: 1px; margin-left: -.5px; background: #111; opacity: .6; }
.tl-res { position: absolute; top: -3px; font-style: normal; font-weight: 700; color: #1b5e20; transform: translateX(-50%); font-size: .8rem; }
.tl-axis { position: relative; height: 1.4rem; border-top: 1px solid var(--muted); font-size: .75rem; color: var(--muted); }
.tl-tick { position: absolute; top: .15rem; white-space: nowrap; }
.tl-mid { transform: translateX(-50%); } .tl-end { transform: translateX(-100%); }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .8rem; padding: 0; list-style: none; }
.legend .tl-span { position: static; display: inline-block; width: 2.2rem; height: .8rem; vertical-align: middle; }
.refs a { overflow-wrap: anywhere; }
@media screen and (max-width: 820px) {
  body { margin: .8rem auto; padding: 0 .6rem; }
  .finding { padding: .2rem .6rem .6rem; } .finding.symptom { margin-left: .5rem; }
  table.stack thead { display: none; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border-bottom: 1px solid var(--line); padding: .3rem 0; }
  table.stack td { border: 0; padding: .05rem .2rem; overflow-wrap: anywhere; }
  table.stack td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .78rem; }
  tr.symptom td:first-child { padding-left: .2rem; }
  svg .tick { font-size: 16px; }
  table.stack td.rank, table.stack td.sevcell { display: inline-block; width: auto; }
  table.stack td.rank::before, table.stack td.sevcell::before { content: none; }
}
@media print {
  html { font-size: 10pt; }
  body { max-width: none; margin: 0; padding: 0; }
  th, td { padding: .2rem .3rem; }
  .finding { break-inside: auto; border-color: #999; }
  h2, h3 { break-after: avoid; } .tl-row, tr { break-inside: avoid; }
  .refs a[href]::after { content: " (" attr(href) ")"; font-size: .8em; color: var(--muted); }
  a { color: inherit; }
  svg .tick { font-size: 14px; }
}
`

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tsdiag {{.Tool}}">
<title>{{.Title}}{{if .Case}} · {{.Case}}{{end}}: {{.Verdict}}</title>
<style>` + pageCSS + `</style>
</head>
<body>
<header>
<h1 id="title">{{.Title}}</h1>
{{if .Case}}<p id="case"><strong>Case:</strong> {{.Case}}</p>
{{end}}<p id="verdict"><strong>{{.Verdict}}</strong>{{if .R.FailOn}} · verdict at --fail-on {{.R.FailOn}}: {{if .R.Failing}}<strong>fails</strong>{{else if .R.Window.AllSetAside}}<strong>nothing diagnosed</strong>{{else}}passes{{end}}{{end}}</p>
<p class="muted" id="stats">{{.StatsLine}}</p>
<p class="muted" id="inputs">Inputs: {{range $i, $in := .Inputs}}{{if $i}}, {{end}}<code class="input">{{$in}}</code>{{end}} · reference time {{.Now}}</p>
{{range .R.Warnings}}<p class="warn window">Warning: {{.}}</p>
{{end}}{{range .Config}}<p class="muted config">Configuration seen: {{.}}</p>
{{end}}{{range .Unreadable}}<p class="warn">Unreadable: <code>{{.K}}</code>: {{.V}}</p>{{end}}
{{range .R.ExpiredSuppressions}}<p class="warn">Expired suppression: <code>{{.Diagnosis}}</code> expired {{.ExpiresText}} ({{.Reason}}) and no longer applies; {{.Matched}} finding(s) back in this report.</p>{{end}}
</header>
{{if .Findings}}
<section id="summary">
<h2>Findings</h2>
<table class="stack findings">
<thead><tr><th>#</th><th>Severity, status</th><th>Diagnosis</th><th>For</th><th>Events</th><th>Last seen (UTC)</th></tr></thead>
<tbody>
{{range .Findings}}<tr{{if .Cause}} class="symptom"{{end}} data-rank="{{.Rank}}"><td data-label="#" class="rank nb">{{if .Cause}}↳ {{end}}{{.Rank}}</td><td data-label="Severity" class="sevcell"><span class="sev sev-{{.Severity}}">{{.Severity}}</span> <span class="status status-{{.Status}}">{{.Status}}</span></td><td data-label="Diagnosis"><a href="#{{.Anchor}}" class="heading">{{.Heading}}</a> <code class="id">{{.ID}}</code>{{if .Cause}}<br><span class="muted">symptom of <a href="#{{.Cause.Anchor}}">#{{.Cause.Rank}}</a></span>{{end}}</td><td data-label="For">{{range $i, $p := .For}}{{if $i}}, {{end}}{{if $p.K}}<span class="nb">{{$p.K}}=</span><wbr>{{end}}<span class="nb host">{{$p.V}}</span>{{end}}{{if .InputName}} <span class="muted nb">in {{.InputName}}</span>{{end}}</td><td data-label="Events">{{.Count}}</td><td data-label="Last seen (UTC)"><span class="nb">{{.LastDay}}</span> <span class="nb">{{.LastTime}}</span></td></tr>
{{end}}</tbody>
</table>
</section>
{{else}}
<p id="none">No licensing problem found in these logs.</p>
{{end}}
{{with .Timeline}}<section id="timeline">
<h2>Incident timeline</h2>
<p class="muted">Every finding on one time axis (UTC, {{.Span}}), one lane per host, in the order the trouble began. A bar runs from the incident's first event to its last; the thin marks crossing it are the events kept as evidence (the first and the latest); ✓ marks where it was resolved.</p>
<div class="tl" data-start="{{.StartISO}}" data-end="{{.EndISO}}">
{{range .Lanes}}<div class="tl-lane"><div class="tl-host host">{{.Host}}</div>
{{range .Rows}}<div class="tl-row{{if .CauseRank}} tl-symptom{{end}}" data-rank="{{.Rank}}" data-first="{{.FirstISO}}" data-last="{{.LastISO}}">
<div class="tl-label">{{if .CauseRank}}↳ {{end}}<a href="#{{.Anchor}}">#{{.Rank}}</a> <span class="sev sev-{{.Severity}}">{{.Severity}}</span> <code class="id">{{.ID}}</code>{{range .Labels}} <span class="nb">{{.}}</span>{{end}} <span class="muted"><span class="nb">{{.When}}</span> · <span class="nb">{{.Count}} events</span>{{if ne .Status "active"}} · <strong>{{.Status}}</strong>{{end}}{{if .CauseRank}} · <span class="nb">symptom of <a href="#f{{.CauseRank}}">#{{.CauseRank}}</a></span>{{end}}</span></div>
<div class="tl-track"><span class="tl-span sp-{{.Severity}}" style="left:{{pct .Left}}%;width:{{pct .Width}}%" title="#{{.Rank}} {{.ID}}: {{.When}}"></span>{{range .Marks}}<i class="tl-ev" style="left:{{pct .Pos}}%" data-t="{{.ISO}}" title="{{.Title}}"></i>{{end}}{{with .Resolved}}<i class="tl-res" style="left:{{pct .Pos}}%" data-t="{{.ISO}}" title="{{.Title}}">✓</i>{{end}}</div>
</div>
{{end}}</div>
{{end}}<div class="tl-axis"><span class="tl-tick tl-start" style="left:0%" data-t="{{.Start.ISO}}">{{.Start.Label}}</span>{{range .Ticks}}<span class="tl-tick tl-mid" style="left:{{pct .Pos}}%" data-t="{{.ISO}}">{{.Label}}</span>{{end}}<span class="tl-tick tl-end" style="left:100%" data-t="{{.End.ISO}}">{{.End.Label}}</span></div>
</div>
<ul class="legend"><li><span class="tl-span sp-critical"></span> critical (solid)</li><li><span class="tl-span sp-high"></span> high (diagonal hatch)</li><li><span class="tl-span sp-medium"></span> medium (horizontal lines)</li><li><span class="tl-span sp-low"></span> low (pale, dotted outline)</li><li><span class="tl-span sp-info"></span> info, resolved or transient (dashed outline)</li></ul>
</section>{{end}}
<section id="histogram">
<h2>Events over time</h2>
<p class="muted">Licensing-relevant events per UTC day, all inputs (events no rule can match are skipped before decoding). Each day is one bar wide, from the first day (left edge) to the last (right edge).</p>
{{.Histogram}}
</section>
{{range .Findings}}
<section class="finding{{if .Cause}} symptom{{end}}" id="{{.Anchor}}" data-diagnosis="{{.ID}}" data-rank="{{.Rank}}" data-status="{{.Status}}">
<h2>{{if .Cause}}↳ {{end}}{{.Rank}}. <span class="sev sev-{{.Severity}}">{{.Severity}}</span> {{.Heading}} <code class="id">{{.ID}}</code></h2>
{{with .Cause}}<p class="link symptom-of">Symptom of <a href="#{{.Anchor}}">#{{.Rank}} <code class="id">{{.ID}}</code></a>: fix the cause first (its steps are under #{{.Rank}}).</p>{{end}}
{{if .Symptoms}}<p class="link cause-of">Cause of {{len .Symptoms}} symptom{{if gt (len .Symptoms) 1}}s{{end}}: {{range $i, $s := .Symptoms}}{{if $i}}, {{end}}<a href="#{{$s.Anchor}}">#{{$s.Rank}} <code class="id">{{$s.ID}}</code></a>{{end}}</p>{{end}}
<p><strong>Status:</strong> <span class="status status-{{.Status}}">{{.Status}}</span>{{if ne .Status "active"}} {{.StatusNote}}{{end}}</p>
{{if .Article}}<p>{{.Article.Summary}}</p>{{end}}
<p><strong>For:</strong> {{range $i, $p := .For}}{{if $i}}, {{end}}{{if $p.K}}<span class="nb">{{$p.K}}=</span><wbr>{{end}}<span class="nb host">{{$p.V}}</span>{{end}}{{if .InputName}} in <code>{{.InputName}}</code>{{end}} · <strong>Seen:</strong> {{.Seen}}, <span class="nb">{{.First}}</span> → <span class="nb">{{.Last}}</span></p>
{{if .Facts}}<ul class="facts">{{range .Facts}}<li><code>{{.K}}</code> = <code>{{.V}}</code></li>{{end}}</ul>{{end}}
<p class="muted">rule <code>{{.Rule}}</code> · confidence {{printf "%.2f" .Confidence}}</p>
{{range .Spread}}<p class="muted">{{.}}</p>{{end}}
<div class="timeline">{{.Chart}}</div>
{{if .Evidence}}<details><summary>Evidence: {{len .Evidence}} of {{.Count}} events ({{.EventMix}})</summary>
<table class="stack evidence"><thead><tr><th>Time (UTC)</th><th>Event</th><th>File</th><th>Record</th><th>Values</th></tr></thead><tbody>
{{range .Evidence}}<tr><td data-label="Time (UTC)" class="nb">{{.Time}}</td><td data-label="Event">{{.Event}}</td><td data-label="File"><code>{{.File}}</code></td><td data-label="Record">{{.Record}}</td><td data-label="Values" class="values">{{.Values}}</td></tr>
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
{{if .References}}<h3>References</h3>
<ul class="refs">
{{range .References}}<li>{{if .URL}}<a href="{{.URL}}">{{.Title}}</a>{{else}}{{.Title}} <span class="muted">(no public address)</span>{{end}}</li>
{{end}}</ul>{{end}}
</section>
{{end}}
{{if .R.Suppressed}}<section id="suppressed"><h2>Suppressed</h2><ul>
{{range .R.Suppressed}}<li><code>{{.Finding.ID}}</code> until {{.By.ExpiresText}}: {{.By.Reason}}</li>
{{end}}</ul></section>{{end}}
<footer><p class="muted">tsdiag {{.Tool}} · report schema {{.Schema}}</p></footer>
</body>
</html>
`
