package report

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fatih/color"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/kb"
)

// palette holds the text renderer's colours; all of them are plain when
// colour is off.
type palette struct {
	sev              map[string]*color.Color
	bold, dim, cmd   *color.Color
	ok, warn, header *color.Color
}

func newPalette(on bool) palette {
	p := palette{
		sev: map[string]*color.Color{
			"critical": color.New(color.FgHiWhite, color.BgRed, color.Bold),
			"high":     color.New(color.FgRed, color.Bold),
			"medium":   color.New(color.FgYellow, color.Bold),
			"low":      color.New(color.FgCyan),
			"info":     color.New(color.FgBlue),
		},
		bold:   color.New(color.Bold),
		dim:    color.New(color.Faint),
		cmd:    color.New(color.FgGreen),
		ok:     color.New(color.FgGreen, color.Bold),
		warn:   color.New(color.FgYellow),
		header: color.New(color.Bold, color.Underline),
	}
	for _, c := range append([]*color.Color{p.bold, p.dim, p.cmd, p.ok, p.warn, p.header}, values(p.sev)...) {
		if on {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
	}
	return p
}

func values(m map[string]*color.Color) []*color.Color {
	out := make([]*color.Color, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	return out
}

func (p palette) severity(s string) string {
	c, ok := p.sev[s]
	if !ok {
		return strings.ToUpper(s)
	}
	return c.Sprint(strings.ToUpper(s))
}

// DefaultWidth is the column text output folds at when the caller does
// not know the terminal's width (a pipe, a file, a CI log).
const DefaultWidth = 100

// minWidth keeps folding sane in a very narrow pane.
const minWidth = 40

// WriteText renders the terminal report at DefaultWidth; see
// WriteTextOptions.
func WriteText(w io.Writer, r *Report, colour bool) error {
	return WriteTextOptions(w, r, Options{Color: colour})
}

// WriteTextOptions renders the terminal report: the verdict line, a
// one-screen summary (per host, each incident, its severity and the one
// next step), then each finding ranked with its evidence timeline and
// numbered steps. Prose folds at opts.Width; commands stay on their own
// lines, whole, so they paste as they stand.
func WriteTextOptions(w io.Writer, r *Report, opts Options) error {
	t := &textOut{errWriter: errWriter{w: w}, p: newPalette(opts.Color), width: opts.Width, verbose: opts.Verbose, r: r}
	if t.width <= 0 {
		t.width = DefaultWidth
	}
	t.width = max(t.width, minWidth)
	t.para(0, "", summaryLine(r, t.p))
	if n := r.Window.Note(); n != "" && !r.Window.AllSetAside() {
		t.para(0, t.p.warn.Sprint("Warning:")+" ", n)
	}
	if n := r.overflowNote(); n != "" {
		t.para(0, t.p.warn.Sprint("Warning:")+" ", n)
	}
	for _, l := range r.ConfigLines() {
		t.para(0, "Configuration seen: ", l)
	}
	if d := duplicatesText(r); d != "" {
		t.para(0, "Duplicates set aside: ", d)
	}
	writeTextSummary(t)
	for _, it := range r.Findings {
		t.printf("\n")
		writeTextFinding(t, it)
	}
	writeSuppressions(t, r, t.p)
	// Input problems come last: the verdict line already counts them, and
	// a person reads the diagnosis first.
	writeInputProblems(t, r, t.p)
	return t.err
}

// textOut is the text renderer's state: where it writes, its palette and
// the width it folds at.
type textOut struct {
	errWriter
	p       palette
	width   int
	verbose bool
	r       *Report
}

// para writes label+text folded at the width, continuation lines indented
// to align under the text (a hanging indent), the whole indented by indent.
func (t *textOut) para(indent int, label, text string) {
	t.printf("%s\n", fold(strings.Repeat(" ", indent)+label+text, indent+visibleLen(label), t.width))
}

// command writes a command on its own line, never folded: a command broken
// over two lines does not paste.
func (t *textOut) command(indent int, run string) {
	t.printf("%s%s\n", strings.Repeat(" ", indent), t.p.cmd.Sprint(run))
}

// fold breaks s at spaces so no line passes width, continuation lines
// indented by hang columns; the spaces between words are kept as they are
// (evidence columns are two apart) except where a line breaks. A word
// longer than the room stays whole. Widths ignore colour codes; glue
// (from glued) joins words that must not part.
func fold(s string, hang, width int) string {
	var b strings.Builder
	col, onLine := 0, 0 // onLine: words on the current line
	for _, tk := range tokens(s, width-hang) {
		n := visibleLen(tk.word)
		if onLine > 0 && n > 0 && col+len(tk.gap)+n > width {
			b.WriteString("\n" + strings.Repeat(" ", hang))
			col, onLine = hang, 0
		} else {
			b.WriteString(tk.gap)
			col += len(tk.gap)
		}
		b.WriteString(tk.word)
		col += n
		if n > 0 {
			onLine++
		}
	}
	return strings.ReplaceAll(b.String(), glue, " ")
}

// token is a word and the spaces before it.
type token struct{ gap, word string }

// tokens splits s at spaces; a glued run wider than room is split at its
// glue after all (it cannot stay whole anyway).
func tokens(s string, room int) []token {
	var out []token
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == ' ' {
			j++
		}
		k := j
		for k < len(s) && s[k] != ' ' {
			k++
		}
		tk := token{s[i:j], s[j:k]}
		i = k
		if strings.Contains(tk.word, glue) && visibleLen(tk.word) > room {
			for p, part := range strings.Split(tk.word, glue) {
				gap := " "
				if p == 0 {
					gap = tk.gap
				}
				out = append(out, token{gap, part})
			}
			continue
		}
		out = append(out, tk)
	}
	return out
}

// Fold is fold for the CLI's own lines around a report (tsdiag demo).
func Fold(s string, hang, width int) string { return fold(s, hang, width) }

// glue stands for a space fold must not break at; fold turns it back.
const glue = "\x00"

// glued keeps s on one line through fold (when it fits at all). Only for
// tsdiag's own text: event data has its NULs escaped by printable.
func glued(s string) string { return strings.ReplaceAll(s, " ", glue) }

// visibleLen counts the columns s takes on a terminal: runes, less the
// ANSI colour sequences.
func visibleLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j + 1
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// SummaryLine is the report's first line without colour, for logs.
func SummaryLine(r *Report) string { return summaryLine(r, newPalette(false)) }

// summaryLine is the one line a person reads first. What makes the result
// less than it looks (nothing read, an input unreadable, a window that set
// everything aside) leads it, before any "no problem found".
func summaryLine(r *Report, p palette) string {
	var b strings.Builder
	s := r.Stats
	switch {
	case r.Window.AllSetAside() && len(r.Findings) == 0:
		// Never a quiet "no problem found": nothing was looked at.
		b.WriteString(p.warn.Sprint("Nothing diagnosed: " + r.Window.Note()))
	case r.nothingRead():
		b.WriteString(p.warn.Sprint("Nothing diagnosed: no event was read"))
		if n := s.UnreadableCount(); n > 0 {
			b.WriteString(p.warn.Sprintf(" (%s unreadable)", plural(n, "input")))
		}
		b.WriteString(";")
	default:
		if r.Incomplete() {
			b.WriteString(p.warn.Sprint("Incomplete: "+r.incompleteShort()) + " — ")
		}
		switch {
		case len(r.Findings) == 0 && r.Incomplete():
			b.WriteString("no licensing problem found in what could be read")
		case len(r.Findings) == 0:
			b.WriteString(p.ok.Sprint("No licensing problem found"))
		default:
			var parts []string
			for _, sc := range r.BySeverity() {
				parts = append(parts, fmt.Sprintf("%d %s", sc.Count, p.severity(sc.Severity)))
			}
			fmt.Fprintf(&b, "%s (%s)", p.bold.Sprint(plural(len(r.Findings), "finding")), strings.Join(parts, ", "))
		}
	}
	fmt.Fprintf(&b, " in %s, %s", plural(s.Files, "file"), plural(s.Records, "record"))
	if s.DamagedRecords > 0 || s.DamagedChunks > 0 {
		b.WriteString(p.warn.Sprintf(" (%d damaged records, %d damaged chunks)", s.DamagedRecords, s.DamagedChunks))
	}
	if n := s.UnreadableCount(); n > 0 {
		b.WriteString(p.warn.Sprintf("; %s unreadable", plural(n, "input")))
	}
	fmt.Fprintf(&b, "; %s reached the rules, %d matched", plural(ReachedRules(r), "event"), r.Engine.Matched)
	if d := r.Engine.Duplicates; d > 0 {
		fmt.Fprintf(&b, "; %s set aside", plural(d, "duplicate"))
	}
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(&b, "; %d suppressed", len(r.Suppressed))
	}
	fmt.Fprintf(&b, "; %s", r.Duration.Round(1e6))
	return b.String()
}

// nothingRead tells whether the scan read no record at all (every input
// unreadable or empty): no finding then means nothing, not health.
func (r *Report) nothingRead() bool {
	return r.Stats.Records == 0 && r.Stats.Matched == 0 && r.Window.Kept == 0 && r.Window.SetAside() == 0 &&
		len(r.Findings) == 0 && (r.Stats.Files > 0 || r.Stats.UnreadableCount() > 0)
}

// incompleteShort is why the scan is incomplete, in a few words for the
// first line (the warnings below give the detail).
func (r *Report) incompleteShort() string {
	var parts []string
	if n := r.Stats.UnreadableCount(); n > 0 {
		parts = append(parts, fmt.Sprintf("%s could not be read", plural(n, "input")))
	}
	if r.Engine.GroupsOverflow > 0 || r.Engine.FindingsOverflow > 0 {
		parts = append(parts, "the rules reached their bounds, findings may be missing")
	}
	return strings.Join(parts, "; ")
}

// ReachedRules is how many licensing events the rules evaluated: those the
// decoders selected, less what the time window and duplicate detection set
// aside.
func ReachedRules(r *Report) int {
	return max(0, r.Stats.Matched-r.Window.SetAside()-r.Engine.Duplicates)
}

// duplicatesText lists the records set aside as seen before, per input
// file: "copy-of-a.evtx 7, b.evtx 2" ("" when none).
func duplicatesText(r *Report) string {
	if r.Engine.Duplicates == 0 {
		return ""
	}
	var parts []string
	for _, f := range sortedKeys(r.Engine.DuplicatesByFile) {
		parts = append(parts, fmt.Sprintf("%s %s", printable(r.DisplayPath(f)), thousands(r.Engine.DuplicatesByFile[f])))
	}
	if len(parts) == 0 {
		return thousands(r.Engine.Duplicates)
	}
	return fmt.Sprintf("%s (records already read from another input or earlier in the same one, counted once): %s",
		thousands(r.Engine.Duplicates), strings.Join(parts, ", "))
}

// DisplayPath names a file the way the user named its input: relative
// inputs are already as typed; under an absolute input the scanning
// machine's directories are dropped (the input's base name, then the path
// inside it).
func (r *Report) DisplayPath(file string) string {
	for _, in := range r.Inputs {
		if in == "-" || !filepath.IsAbs(in) {
			continue
		}
		clean := filepath.Clean(in)
		switch {
		case file == in || file == clean:
			return filepath.Base(clean)
		case strings.HasPrefix(file, clean+string(filepath.Separator)) || strings.HasPrefix(file, clean+"/") ||
			strings.HasPrefix(file, clean+"!"): // a member of a bundle
			return filepath.Base(clean) + file[len(clean):]
		}
	}
	return file
}

// writeTextSummary is the one screen a person reads before the detail:
// per host, each incident with its severity and the one next step.
func writeTextSummary(t *textOut) {
	r := t.r
	if len(r.Findings) == 0 {
		return
	}
	const maxShown = 12
	t.printf("\n%s\n", t.p.header.Sprint("Summary"))
	// Per host, hosts in the order of their first finding, each host's
	// findings in rank order.
	var hosts []string
	byHost := map[string][]Item{}
	for _, it := range r.Findings[:min(len(r.Findings), maxShown)] {
		h := summaryHost(r, it.Finding)
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], it)
	}
	for _, h := range hosts {
		t.para(1, "", t.p.bold.Sprint(printable(h)))
		for _, it := range byHost[h] {
			title := it.Title
			if it.Article != nil && it.Article.Title != "" {
				title = it.Article.Title
			}
			nest := ""
			if r.causeOf(it.Finding) != nil {
				nest = "↳ "
			}
			head := fmt.Sprintf("%s#%d %s ", nest, it.Rank, t.p.severity(it.Severity))
			t.para(3, head, fmt.Sprintf("%s: %s", it.ID, title))
			t.para(3+visibleLen(nest)+3, "", nextStep(r, it))
		}
	}
	if len(r.Findings) > maxShown {
		t.printf("   %s\n", t.p.dim.Sprintf("… %d more below", len(r.Findings)-maxShown))
	}
}

// summaryHost is the summary's heading for a finding: its host, with the
// input it came from when several were scanned.
func summaryHost(r *Report, f engine.Finding) string {
	h := hostOf(f)
	if h == "" {
		h = "all hosts"
	}
	if len(r.Inputs) > 1 {
		if in := r.InputOf(f); in != "" {
			h += " (" + r.DisplayPath(in) + ")"
		}
	}
	return h
}

// nextStep is the one thing to do next for a finding.
func nextStep(r *Report, it Item) string {
	switch {
	case it.Status == "resolved":
		return "Resolved at " + stamp(it.ResolvedAt) + ": nothing to do unless it returns"
	case it.Status == "transient":
		return "Transient: watch for it to return"
	}
	if c := r.causeOf(it.Finding); c != nil {
		return fmt.Sprintf("Next: fix #%d %s first", c.Rank, c.ID)
	}
	if len(it.Steps) == 0 {
		return "Next: no knowledge-base steps; see the evidence below"
	}
	return fmt.Sprintf("Next: %s (step 1 of %d below)", it.Steps[0].Title, len(it.Steps))
}

func writeInputProblems(w *textOut, r *Report, p palette) {
	if len(r.Stats.Unreadable)+len(r.Stats.Damages) > 0 {
		w.printf("\n")
	}
	for _, u := range r.Stats.Unreadable {
		w.para(0, p.warn.Sprint("unreadable:")+" ", printable(r.DisplayPath(u.File))+": "+printable(u.Reason))
	}
	const maxDamages = 5
	for i, d := range r.Stats.Damages {
		if i == maxDamages {
			w.printf("%s\n", p.dim.Sprintf("… %d more damaged places (see --format json)", len(r.Stats.Damages)-maxDamages))
			break
		}
		w.para(0, p.warn.Sprint("damaged:")+" ", fmt.Sprintf("%s at offset %d (%s): %s", printable(r.DisplayPath(d.File)), d.Offset, d.Kind, printable(d.Reason)))
	}
}

func writeTextFinding(t *textOut, it Item) {
	f, r, p := it.Finding, t.r, t.p
	title := f.Title
	if it.Article != nil && it.Article.Title != "" {
		title = it.Article.Title
	}
	nest := ""
	if r.causeOf(f) != nil {
		nest = "↳ " // a symptom follows its cause
	}
	t.para(0, fmt.Sprintf("%s%s %s ", nest, p.bold.Sprintf("#%d", f.Rank), p.severity(f.Severity)), p.bold.Sprint(f.ID)+" — "+title)
	t.para(3, "for ", r.forText(f))
	if c := r.causeOf(f); c != nil {
		t.para(3, "", fmt.Sprintf("Symptom of #%d %s: fix the cause first (its steps are above)", c.Rank, c.ID))
	}
	if n := len(f.Symptoms); n > 0 {
		t.para(3, fmt.Sprintf("Cause of %s: ", plural(n, "symptom")), r.symptomRanks(f))
	}
	switch {
	case t.verbose:
		t.para(3, "", p.dim.Sprintf("rule %s · confidence %.2f · score %.2f", f.Rule, f.Confidence, f.Score))
	case f.Rule != f.ID:
		t.para(3, "", p.dim.Sprintf("rule %s", f.Rule))
	}
	switch f.Status {
	case "resolved":
		t.para(3, "", fmt.Sprintf("Resolved at %s after %s%s (would be %s)", f.ResolvedAt.UTC().Format(time.RFC3339),
			(time.Duration(f.LastedSeconds)*time.Second).String(), episodesNote(f, func(d time.Duration) string { return d.Round(time.Second).String() }),
			f.OriginalSeverity))
	case "transient":
		t.para(3, "", fmt.Sprintf("Transient: below the rule's persistence threshold (would be %s)", f.OriginalSeverity))
	}
	if it.Article != nil && it.Article.Summary != "" {
		t.para(3, "", it.Article.Summary)
	}
	if facts := factsText(f.Facts); facts != "" {
		t.para(3, "Facts: ", facts)
	}
	writeTextTimeline(t, f)
	writeTextEvidence(t, f)
	if r.causeOf(f) == nil {
		writeTextSteps(t, it.Steps)
	}
}

func writeTextTimeline(t *textOut, f engine.Finding) {
	p := t.p
	t.para(3, p.header.Sprint("Timeline:")+" ", fmt.Sprintf("%s over %s, %s → %s", plural(f.Count, "event"),
		plural(len(f.Timeline), "day"), stamp(f.FirstSeen), stamp(f.LastSeen)))
	// The sparkline takes what the width leaves beside two dates and the
	// peak: "     2024-01-08 ▁▃█ 2024-01-23  (peak 4/day)".
	slots := dayRange(f.Timeline, min(60, max(10, t.width-5-11-11-18)))
	if len(slots) <= 1 {
		return
	}
	peak := 0
	for _, s := range slots {
		peak = max(peak, s.Count)
	}
	t.printf("     %s %s %s  (peak %d/day)\n", day(slots[0].From), sparkline(slots, peak), day(slots[len(slots)-1].To), peak)
	// Per-day bars only where they add something the sparkline does not:
	// a short span with uneven counts.
	if len(slots) <= 10 && peak > 1 {
		for _, s := range slots {
			if s.Count > 0 {
				t.printf("     %s  %s %d\n", s.label(), strings.Repeat("█", barLen(s.Count, peak, min(30, t.width-40))), s.Count)
			}
		}
	}
}

var sparks = []rune("▁▂▃▄▅▆▇█")

func sparkline(slots []slot, peak int) string {
	var b strings.Builder
	for _, s := range slots {
		if s.Count == 0 {
			b.WriteRune('·')
			continue
		}
		b.WriteRune(sparks[(s.Count*(len(sparks)-1)+peak-1)/peak])
	}
	return b.String()
}

func barLen(n, peak, width int) int {
	if peak == 0 || n == 0 {
		return 0
	}
	return max(1, n*width/peak)
}

// writeTextEvidence lists the evidence the engine kept (the first events
// and the latest), with which event, record and client each is. When all of
// it comes from one file, the file is named once in the heading.
func writeTextEvidence(t *textOut, f engine.Finding) {
	if len(f.Evidence) == 0 {
		return
	}
	p, r := t.p, t.r
	shown := fmt.Sprintf("all %d", len(f.Evidence))
	if len(f.Evidence) < f.Count {
		shown = fmt.Sprintf("%d of %d", len(f.Evidence), f.Count)
	}
	one := oneFile(f.Evidence)
	if one != "" {
		shown += " from " + printable(r.DisplayPath(one))
	}
	mix := strings.Split(eventMix(f.Evidence), ", ")
	for i := range mix {
		mix[i] = glued(mix[i])
	}
	t.para(3, p.header.Sprint("Evidence:")+" ", shown+"; "+strings.Join(mix, ", "))
	for _, line := range spread(f.Evidence) {
		t.para(5, "", line)
	}
	const maxShown = 8
	ev := f.Evidence
	skipped := 0
	if len(ev) > maxShown {
		skipped = len(ev) - maxShown
		ev = append(append([]engine.Evidence{}, ev[:3]...), ev[len(ev)-5:]...)
	}
	for i, e := range ev {
		if skipped > 0 && i == 3 {
			t.printf("     %s\n", p.dim.Sprintf("… %d more kept in --format json", skipped))
		}
		where := fmt.Sprintf("record %d", e.RecordID)
		if one == "" {
			where = printable(r.DisplayPath(e.File)) + " " + where
		}
		head := fmt.Sprintf("%s  %s %d  ", stamp(e.Time), evidenceProvider(e.Provider), e.EventID)
		// Continuations start under the provider, not under the values:
		// a narrow pane keeps room for them.
		line := strings.TrimRight("     "+head+p.dim.Sprint(where)+"  "+valuesText(withoutHost(e.Values, hostOf(f))), " ")
		t.printf("%s\n", fold(line, 27, t.width))
	}
}

// withoutHost drops the host value that only repeats the finding's "for"
// line.
func withoutHost(v map[string]string, host string) map[string]string {
	if h, ok := v["host"]; !ok || host == "" || !strings.EqualFold(h, host) {
		return v
	}
	out := make(map[string]string, len(v))
	for k, x := range v {
		if k != "host" {
			out[k] = x
		}
	}
	return out
}

// evidenceProvider shortens a provider for an evidence line: every
// licensing provider is a TerminalServices one, and the heading names it
// in full.
func evidenceProvider(p string) string {
	return strings.TrimPrefix(shortProvider(p), "TerminalServices-")
}

// oneFile is the file all of ev comes from, "" when several.
func oneFile(ev []engine.Evidence) string {
	for _, e := range ev[1:] {
		if e.File != ev[0].File {
			return ""
		}
	}
	return ev[0].File
}

func writeTextSteps(t *textOut, steps []rankedStep) {
	if len(steps) == 0 {
		return
	}
	p := t.p
	t.printf("   %s\n", p.header.Sprint("What to do, in order:"))
	for _, s := range steps {
		num := p.bold.Sprintf("%d.", s.Rank) + " "
		t.para(3, num, p.bold.Sprint(s.Title)+"  "+p.dim.Sprint(glued("["+kb.StepTag(s)+"]")))
		t.para(6, p.dim.Sprint("Applies to:")+" ", kb.VersionsText(s))
		if s.Detail != "" {
			t.para(6, "", s.Detail)
		}
		if s.Decides != "" {
			t.para(6, "Decides: ", s.Decides)
		}
		if why := stepWhy(s, t.verbose); why != "" {
			t.para(6, p.dim.Sprint("Why here:")+" ", why)
		}
		writeTextCommands(t, "Back up first", s.Backup)
		writeTextCommands(t, "Run", s.Commands)
		if s.Verify != "" {
			t.para(6, "Verify: ", s.Verify)
		}
		writeTextCommands(t, "Verify with", s.VerifyCommands)
	}
}

// stepWhy is why a step ranks where it does. The likelihoods are for
// --verbose; without it only what the evidence showed (a boost) is said:
// the phase tag already says check or last resort.
func stepWhy(s rankedStep, verbose bool) string {
	if verbose {
		return s.Why
	}
	if _, because, ok := strings.Cut(s.Why, " because "); ok {
		return "the evidence points here: " + because
	}
	return ""
}

// writeTextCommands prints each command as its own block under a label
// naming its shell, so it pastes as it stands.
func writeTextCommands(t *textOut, label string, cs []kb.Command) {
	for _, c := range cs {
		t.printf("      %s (%s):\n", label, kb.ShellName(c.Shell))
		t.command(8, c.Run)
	}
}

func writeSuppressions(w *textOut, r *Report, p palette) {
	if len(r.Suppressed) > 0 {
		w.printf("\n%s\n", p.header.Sprint("Suppressed:"))
		for _, s := range r.Suppressed {
			g := groupText(s.Finding)
			if g != "" {
				g = " (" + g + ")"
			}
			w.para(3, "", fmt.Sprintf("%s %s%s until %s: %s  %s", p.severity(s.Finding.Severity), s.Finding.ID, g,
				s.By.ExpiresText(), s.By.Reason, p.dim.Sprint(source(s.By.File, s.By.Line))))
		}
	}
	for _, e := range r.ExpiredSuppressions {
		w.para(0, p.warn.Sprint("expired suppression:")+" ", fmt.Sprintf("%s expired %s (%s) and no longer applies; %s back in this report. %s",
			e.Diagnosis, e.ExpiresText(), e.Reason, plural(e.Matched, "finding"), p.dim.Sprint(source(e.File, e.Line))))
	}
}

// rankedStep is kb.RankedStep, named here so renderers read plainly.
type rankedStep = kb.RankedStep

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%s %ss", thousands(n), word)
}

// thousands groups digits: 1234567 → 1,234,567.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
