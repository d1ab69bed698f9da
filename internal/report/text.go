package report

import (
	"fmt"
	"io"
	"strings"
	"time"

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

// WriteText renders the terminal report: a summary line, then each finding
// ranked with its evidence timeline and numbered steps.
func WriteText(w io.Writer, r *Report, colour bool) error {
	p := newPalette(colour)
	tw := &errWriter{w: w}
	tw.printf("%s\n", summaryLine(r, p))
	if n := r.Window.Note(); n != "" && !r.Window.AllSetAside() {
		tw.printf("%s %s\n", p.warn.Sprint("Warning:"), n)
	}
	for _, l := range r.ConfigLines() {
		tw.printf("Configuration seen: %s\n", l)
	}
	for _, it := range r.Findings {
		tw.printf("\n")
		writeTextFinding(tw, it, r, p)
	}
	writeSuppressions(tw, r, p)
	// Input problems come last: the summary line already counts them, and
	// a person reads the diagnosis first.
	writeInputProblems(tw, r, p)
	return tw.err
}

// SummaryLine is the report's first line without colour, for logs.
func SummaryLine(r *Report) string { return summaryLine(r, newPalette(false)) }

// summaryLine is the one line a person reads first.
func summaryLine(r *Report, p palette) string {
	var b strings.Builder
	switch {
	case r.Window.AllSetAside() && len(r.Findings) == 0:
		// Never a quiet "no problem found": nothing was looked at.
		b.WriteString(p.warn.Sprint("Nothing diagnosed: " + r.Window.Note()))
	case len(r.Findings) == 0:
		b.WriteString(p.ok.Sprint("No licensing problem found"))
	default:
		var parts []string
		for _, sc := range r.BySeverity() {
			parts = append(parts, fmt.Sprintf("%d %s", sc.Count, p.severity(sc.Severity)))
		}
		fmt.Fprintf(&b, "%s (%s)", p.bold.Sprint(plural(len(r.Findings), "finding")), strings.Join(parts, ", "))
	}
	s := r.Stats
	fmt.Fprintf(&b, " in %s, %s", plural(s.Files, "file"), plural(s.Records, "record"))
	if s.DamagedRecords > 0 || s.DamagedChunks > 0 {
		b.WriteString(p.warn.Sprintf(" (%d damaged records, %d damaged chunks)", s.DamagedRecords, s.DamagedChunks))
	}
	if n := len(s.Unreadable); n > 0 {
		b.WriteString(p.warn.Sprintf("; %s unreadable", plural(n, "input")))
	}
	fmt.Fprintf(&b, "; %s reached the rules, %d matched", plural(s.Matched, "event"), r.Engine.Matched)
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(&b, "; %d suppressed", len(r.Suppressed))
	}
	fmt.Fprintf(&b, "; %s", r.Duration.Round(1e6))
	return b.String()
}

func writeInputProblems(w *errWriter, r *Report, p palette) {
	if len(r.Stats.Unreadable)+len(r.Stats.Damages) > 0 {
		w.printf("\n")
	}
	for _, u := range r.Stats.Unreadable {
		w.printf("%s %s: %s\n", p.warn.Sprint("unreadable:"), printable(u.File), printable(u.Reason))
	}
	const maxDamages = 5
	for i, d := range r.Stats.Damages {
		if i == maxDamages {
			w.printf("%s\n", p.dim.Sprintf("… %d more damaged places (see --format json)", len(r.Stats.Damages)-maxDamages))
			break
		}
		w.printf("%s %s at offset %d (%s): %s\n", p.warn.Sprint("damaged:"), printable(d.File), d.Offset, d.Kind, printable(d.Reason))
	}
}

func writeTextFinding(w *errWriter, it Item, r *Report, p palette) {
	f := it.Finding
	title := f.Title
	if it.Article != nil && it.Article.Title != "" {
		title = it.Article.Title
	}
	nest := ""
	if r.causeOf(f) != nil {
		nest = "↳ " // a symptom follows its cause
	}
	w.printf("%s%s %s %s — %s\n", nest, p.bold.Sprintf("#%d", f.Rank), p.severity(f.Severity), p.bold.Sprint(f.ID), title)
	w.printf("   for %s\n", r.forText(f))
	if c := r.causeOf(f); c != nil {
		w.printf("   Symptom of #%d %s: fix the cause first (its steps are above)\n", c.Rank, c.ID)
	}
	if n := len(f.Symptoms); n > 0 {
		w.printf("   Cause of %s: %s\n", plural(n, "symptom"), r.symptomRanks(f))
	}
	w.printf("   %s\n", p.dim.Sprintf("rule %s · confidence %.2f · score %.2f", f.Rule, f.Confidence, f.Score))
	switch f.Status {
	case "resolved":
		w.printf("   Resolved at %s after %s (would be %s)\n", f.ResolvedAt.UTC().Format(time.RFC3339),
			(time.Duration(f.LastedSeconds) * time.Second).String(), f.OriginalSeverity)
	case "transient":
		w.printf("   Transient: below the rule's persistence threshold (would be %s)\n", f.OriginalSeverity)
	}
	if it.Article != nil && it.Article.Summary != "" {
		w.printf("   %s\n", kb.Wrap(it.Article.Summary, 3, 100))
	}
	if facts := factsText(f.Facts); facts != "" {
		w.printf("   Facts: %s\n", facts)
	}
	writeTextTimeline(w, f, p)
	writeTextEvidence(w, f, p)
	if r.causeOf(f) == nil {
		writeTextSteps(w, it.Steps, p)
	}
}

func writeTextTimeline(w *errWriter, f engine.Finding, p palette) {
	w.printf("   %s %s over %s, %s → %s\n", p.header.Sprint("Timeline:"), plural(f.Count, "event"),
		plural(len(f.Timeline), "day"), stamp(f.FirstSeen), stamp(f.LastSeen))
	slots := dayRange(f.Timeline, 60)
	if len(slots) <= 1 {
		return
	}
	peak := 0
	for _, s := range slots {
		peak = max(peak, s.Count)
	}
	w.printf("     %s %s %s  (peak %d/day)\n", day(slots[0].From), sparkline(slots, peak), day(slots[len(slots)-1].To), peak)
	// Per-day bars only where they add something the sparkline does not:
	// a short span with uneven counts.
	if len(slots) <= 10 && peak > 1 {
		for _, s := range slots {
			if s.Count > 0 {
				w.printf("     %s  %s %d\n", s.label(), strings.Repeat("█", barLen(s.Count, peak, 30)), s.Count)
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
// and the latest), with which event, record and client each is.
func writeTextEvidence(w *errWriter, f engine.Finding, p palette) {
	if len(f.Evidence) == 0 {
		return
	}
	shown := fmt.Sprintf("all %d", len(f.Evidence))
	if len(f.Evidence) < f.Count {
		shown = fmt.Sprintf("%d of %d", len(f.Evidence), f.Count)
	}
	w.printf("   %s %s; %s\n", p.header.Sprint("Evidence:"), shown, eventMix(f.Evidence))
	for _, line := range spread(f.Evidence) {
		w.printf("     %s\n", line)
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
			w.printf("     %s\n", p.dim.Sprintf("… %d more kept in --format json", skipped))
		}
		w.printf("     %s  %s %d  %s  %s\n", stamp(e.Time), shortProvider(e.Provider), e.EventID,
			p.dim.Sprintf("%s record %d", printable(e.File), e.RecordID), valuesText(e.Values))
	}
}

func writeTextSteps(w *errWriter, steps []rankedStep, p palette) {
	if len(steps) == 0 {
		return
	}
	w.printf("   %s\n", p.header.Sprint("What to do, in order:"))
	for _, s := range steps {
		w.printf("   %s %s  %s\n", p.bold.Sprintf("%d.", s.Rank), p.bold.Sprint(s.Title), p.dim.Sprintf("[%s]", kb.StepTag(s)))
		w.printf("      %s %s\n", p.dim.Sprint("Applies to:"), kb.VersionsText(s))
		if s.Detail != "" {
			w.printf("      %s\n", kb.Wrap(s.Detail, 6, 100))
		}
		if s.Decides != "" {
			w.printf("      Decides: %s\n", kb.Wrap(s.Decides, 15, 100))
		}
		if s.Why != "" {
			w.printf("      %s %s\n", p.dim.Sprint("Why here:"), s.Why)
		}
		writeTextCommands(w, "Back up first", s.Backup, p)
		writeTextCommands(w, "Run", s.Commands, p)
		if s.Verify != "" {
			w.printf("      Verify: %s\n", kb.Wrap(s.Verify, 14, 100))
		}
		writeTextCommands(w, "Verify with", s.VerifyCommands, p)
	}
}

// writeTextCommands prints each command as its own block under a label
// naming its shell, so it pastes as it stands.
func writeTextCommands(w *errWriter, label string, cs []kb.Command, p palette) {
	for _, c := range cs {
		w.printf("      %s (%s):\n        %s\n", label, kb.ShellName(c.Shell), p.cmd.Sprint(c.Run))
	}
}

func writeSuppressions(w *errWriter, r *Report, p palette) {
	if len(r.Suppressed) > 0 {
		w.printf("\n%s\n", p.header.Sprint("Suppressed:"))
		for _, s := range r.Suppressed {
			g := groupText(s.Finding)
			if g != "" {
				g = " (" + g + ")"
			}
			w.printf("   %s %s%s until %s: %s  %s\n", p.severity(s.Finding.Severity), s.Finding.ID, g,
				s.By.ExpiresText(), s.By.Reason, p.dim.Sprint(source(s.By.File, s.By.Line)))
		}
	}
	for _, e := range r.ExpiredSuppressions {
		w.printf("%s %s expired %s (%s) and no longer applies; %s back in this report. %s\n",
			p.warn.Sprint("expired suppression:"), e.Diagnosis, e.ExpiresText(), e.Reason,
			plural(e.Matched, "finding"), p.dim.Sprint(source(e.File, e.Line)))
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
