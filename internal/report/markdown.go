package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/tsdiag/tsdiag/kb"
)

// MarkdownDetailed is how many findings get a full section in markdown:
// ticket systems and pull-request comments cap a comment's size (GitHub at
// 65,536 characters), and the table lists every finding anyway.
const MarkdownDetailed = 10

// WriteMarkdown renders a report for a ticket or a pull-request comment:
// a verdict line, a findings table, then per finding its timeline, evidence
// (folded) and numbered steps with commands in code blocks.
func WriteMarkdown(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ew.printf("## tsdiag: %s\n\n", mdVerdict(r))
	ew.printf("%s\n\n", mdStatsLine(r))
	for _, w := range r.Warnings() {
		ew.printf("> **Warning:** %s\n\n", mdEscape(w))
	}
	for _, l := range r.ConfigLines() {
		ew.printf("- **Configuration seen:** %s\n", mdEscape(l))
	}
	if len(r.Config) > 0 {
		ew.printf("\n")
	}
	if d := mdDuplicates(r); d != "" {
		ew.printf("- **Duplicates set aside** (records already read from another input, counted once): %s\n\n", d)
	}
	for _, u := range r.Stats.Unreadable {
		ew.printf("> **Unreadable:** %s: %s\n", mdCodeSpan(r.DisplayPath(u.File)), mdData(u.Reason))
	}
	if len(r.Stats.Unreadable) > 0 {
		ew.printf("\n")
	}
	if len(r.Findings) > 0 {
		ew.printf("| # | Severity | Diagnosis | For | Events | Last seen |\n|---|---|---|---|---|---|\n")
		for _, it := range r.Findings {
			ew.printf("| %d | %s | `%s` %s | %s | %d | %s |\n", it.Rank, mdSeverity(it.Severity), it.ID,
				mdEscape(it.Title), mdData(r.forText(it.Finding)), it.Count, stamp(it.LastSeen))
		}
		ew.printf("\n")
	}
	for i, it := range r.Findings {
		if i == MarkdownDetailed {
			ew.printf("_%d more findings are in the table above; `--format html` or `--format json` has every detail._\n\n", len(r.Findings)-i)
			break
		}
		writeMarkdownFinding(ew, r, it)
	}
	writeMarkdownSuppressions(ew, r)
	ew.printf("<sub>tsdiag %s · report schema %s · reference time %s</sub>\n", orDefault(r.Tool, "dev"), orDefault(r.Version, SchemaVersion), stamp(r.Now))
	return ew.err
}

// mdVerdict is the heading. What makes the result less than it looks
// leads it: nothing read, an input unreadable, everything set aside.
func mdVerdict(r *Report) string {
	if r.Window.AllSetAside() && len(r.Findings) == 0 {
		return "nothing diagnosed: " + r.Window.Note()
	}
	if r.nothingRead() {
		return "nothing diagnosed: no event was read"
	}
	lead := ""
	if r.Incomplete() {
		lead = "incomplete (" + r.incompleteShort() + "): "
	}
	if len(r.Findings) == 0 && lead != "" {
		return lead + "no licensing problem found in what could be read"
	}
	if len(r.Findings) == 0 {
		return "no licensing problem found"
	}
	var parts []string
	for _, sc := range r.BySeverity() {
		parts = append(parts, fmt.Sprintf("%d %s", sc.Count, sc.Severity))
	}
	return fmt.Sprintf("%s%s (%s)", lead, plural(len(r.Findings), "finding"), strings.Join(parts, ", "))
}

func mdStatsLine(r *Report) string {
	s := r.Stats
	line := fmt.Sprintf("Read %s, %s", plural(s.Files, "file"), plural(s.Records, "record"))
	if s.DamagedRecords > 0 || s.DamagedChunks > 0 {
		line += fmt.Sprintf(" (**%d damaged records, %d damaged chunks**)", s.DamagedRecords, s.DamagedChunks)
	}
	line += fmt.Sprintf("; %s reached the rules, %d matched", plural(ReachedRules(r), "event"), r.Engine.Matched)
	if d := r.Engine.Duplicates; d > 0 {
		line += fmt.Sprintf("; %s set aside", plural(d, "duplicate"))
	}
	line += fmt.Sprintf("; %s.", r.Duration.Round(1e6))
	if r.FailOn != "" {
		verdict := "passes"
		switch {
		case len(r.Failing()) > 0:
			verdict = "**fails**"
		case r.Window.AllSetAside():
			verdict = "**nothing diagnosed**"
		}
		line += fmt.Sprintf(" Verdict at `--fail-on %s`: %s.", r.FailOn, verdict)
	}
	return line
}

func writeMarkdownFinding(w *errWriter, r *Report, it Item) {
	f := it.Finding
	w.printf("### %d. %s `%s` — %s\n\n", f.Rank, mdSeverity(f.Severity), f.ID, mdEscape(f.Title))
	if it.Article != nil && it.Article.Summary != "" {
		w.printf("%s\n\n", mdEscape(it.Article.Summary))
	}
	w.printf("- **For:** %s\n", mdData(r.forText(f)))
	if c := r.causeOf(f); c != nil {
		w.printf("- **Symptom of:** #%d `%s` (fix the cause first)\n", c.Rank, c.ID)
	}
	if len(f.Symptoms) > 0 {
		w.printf("- **Symptoms:** %s\n", r.symptomRanks(f))
	}
	if f.Status == "resolved" || f.Status == "transient" {
		w.printf("- **Status:** %s\n", mdEscape(statusNote(f)))
	}
	w.printf("- **Seen:** %s, %s → %s (%s)\n", plural(f.Count, "event"), stamp(f.FirstSeen), stamp(f.LastSeen), plural(len(f.Timeline), "day"))
	if facts := factsText(f.Facts); facts != "" {
		w.printf("- **Facts:** %s\n", mdCodeSpan(facts))
	}
	for _, line := range spread(f.Evidence) {
		w.printf("- **Varies:** %s\n", mdData(line))
	}
	// The score ranks findings; it means nothing to a reader of the ticket
	// (JSON keeps it).
	w.printf("- **Rule:** `%s` · confidence %.2f\n", f.Rule, f.Confidence)
	if slots := dayRange(f.Timeline, 60); len(slots) > 1 {
		peak := 0
		for _, s := range slots {
			peak = max(peak, s.Count)
		}
		w.printf("- **Timeline:** `%s %s %s` (peak %d/day)\n", day(slots[0].From), sparkline(slots, peak), day(slots[len(slots)-1].To), peak)
	}
	w.printf("\n")
	if len(f.Evidence) > 0 {
		w.printf("<details><summary>Evidence (%d of %d events: %s)</summary>\n\n", len(f.Evidence), f.Count, mdEscape(eventMix(f.Evidence)))
		w.printf("| Time (UTC) | Event | File | Record | Values |\n|---|---|---|---|---|\n")
		for _, e := range f.Evidence {
			w.printf("| %s | %s %d | %s | %d | %s |\n", stamp(e.Time), shortProvider(e.Provider), e.EventID, strings.ReplaceAll(mdCodeSpan(r.DisplayPath(e.File)), "|", `\|`), e.RecordID, mdData(valuesText(e.Values)))
		}
		w.printf("\n</details>\n\n")
	}
	if len(it.Steps) > 0 {
		w.printf("**What to do, in order:**\n\n")
		for _, s := range it.Steps {
			writeMarkdownStep(w, s)
		}
	}
}

func writeMarkdownStep(w *errWriter, s kb.RankedStep) {
	w.printf("%d. **%s** (%s)\n", s.Rank, mdEscape(s.Title), mdEscape(kb.StepTag(s)))
	w.printf("   _Applies to:_ %s\n", mdEscape(kb.VersionsText(s)))
	if s.Detail != "" {
		w.printf("   %s\n", mdEscape(strings.Join(strings.Fields(s.Detail), " ")))
	}
	if s.Decides != "" {
		w.printf("   _Decides:_ %s\n", mdEscape(s.Decides))
	}
	if s.Why != "" {
		w.printf("   _Why here:_ %s\n", mdEscape(s.Why))
	}
	writeMarkdownCommands(w, "Back up first", s.Backup)
	writeMarkdownCommands(w, "Run", s.Commands)
	if s.Verify != "" {
		w.printf("\n   Verify: %s\n", mdEscape(strings.Join(strings.Fields(s.Verify), " ")))
	}
	writeMarkdownCommands(w, "Verify with", s.VerifyCommands)
	w.printf("\n")
}

// writeMarkdownCommands gives each command its own fenced block, tagged with
// its shell for highlighting.
func writeMarkdownCommands(w *errWriter, label string, cs []kb.Command) {
	for _, c := range cs {
		lang := "bat"
		if c.Shell == "powershell" {
			lang = "powershell"
		}
		w.printf("\n   %s (%s):\n\n   ```%s\n   %s\n   ```\n", label, kb.ShellName(c.Shell), lang, c.Run)
	}
}

func writeMarkdownSuppressions(w *errWriter, r *Report) {
	if len(r.Suppressed) > 0 {
		w.printf("**Suppressed:**\n\n")
		for _, s := range r.Suppressed {
			w.printf("- `%s` (%s), until %s: %s (`%s`)\n", s.Finding.ID, mdData(groupOrAll(s.Finding)), s.By.ExpiresText(), mdEscape(s.By.Reason), source(s.By.File, s.By.Line))
		}
		w.printf("\n")
	}
	for _, e := range r.ExpiredSuppressions {
		w.printf("> **Expired suppression:** `%s` expired %s (%s) and no longer applies; %s back in this report (`%s`).\n\n",
			e.Diagnosis, e.ExpiresText(), mdEscape(e.Reason), plural(e.Matched, "finding"), source(e.File, e.Line))
	}
}

// mdDuplicates lists duplicates per input file: "`copy.evtx` 7, `b.evtx` 2".
func mdDuplicates(r *Report) string {
	if r.Engine.Duplicates == 0 {
		return ""
	}
	var parts []string
	for _, f := range sortedKeys(r.Engine.DuplicatesByFile) {
		parts = append(parts, fmt.Sprintf("%s %s", mdCodeSpan(r.DisplayPath(f)), thousands(r.Engine.DuplicatesByFile[f])))
	}
	if len(parts) == 0 {
		return thousands(r.Engine.Duplicates)
	}
	return strings.Join(parts, ", ")
}

func mdSeverity(s string) string {
	switch s {
	case "critical", "high":
		return "**" + strings.ToUpper(s) + "**"
	}
	return strings.ToUpper(s)
}

// mdEscape keeps tsdiag's own text (titles, articles) in one table cell
// or paragraph.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ").Replace(s)
}

// mdData makes event data plain text in Markdown: control characters
// escaped (printable), and every character that could start a link, an
// image, emphasis, code, a heading or a table cell backslash-escaped
// (CommonMark renders an escaped punctuation character as itself).
func mdData(s string) string {
	return mdPunct.Replace(printable(strings.NewReplacer("\r\n", " ", "\n", " ").Replace(s)))
}

var mdPunct = strings.NewReplacer("\\", `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"(", `\(`, ")", `\)`, "#", `\#`, "!", `\!`, "|", `\|`, "<", "&lt;", ">", "&gt;")

// articleMarkdown is an article's help for SARIF viewers.
func articleMarkdown(a kb.Article) string {
	var b strings.Builder
	ew := &errWriter{w: &b}
	ew.printf("**%s**\n\n%s\n\n", mdEscape(a.Title), mdEscape(a.Summary))
	if a.Cause != "" {
		ew.printf("**Cause:** %s\n\n", mdEscape(strings.Join(strings.Fields(a.Cause), " ")))
	}
	if len(a.Steps) > 0 {
		ew.printf("**Remediation (typical order):**\n\n")
		for _, s := range kbOrder(a) {
			writeMarkdownStep(ew, s)
		}
	}
	if len(a.References) > 0 {
		ew.printf("**References:**\n\n")
		for _, r := range a.References {
			if r.URL == "" {
				ew.printf("- %s\n", mdEscape(r.Title))
				continue
			}
			ew.printf("- [%s](%s)\n", mdEscape(r.Title), r.URL)
		}
	}
	return b.String()
}

// kbOrder ranks an article's steps with no evidence: the article's default
// order, as `tsdiag kb show` prints it.
func kbOrder(a kb.Article) []kb.RankedStep {
	return kb.Default(a)
}
