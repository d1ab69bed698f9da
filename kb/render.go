package kb

import (
	"fmt"
	"strings"
)

// Render formats an article with its steps in the given order, for a
// terminal or a ticket. Backups are printed before the commands they
// protect; each command is its own block labelled with its shell.
func Render(a Article, steps []RankedStep) string { return RenderWidth(a, steps, textWidth) }

// RenderWidth is Render with prose folded at width columns (kb show follows
// the terminal); commands are never folded, so they paste as written.
func RenderWidth(a Article, steps []RankedStep, width int) string {
	if width <= 0 {
		width = textWidth
	}
	f := folder{width: width}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", f.wrap(a.ID+" — "+a.Title, 2))
	f.section(&b, "Summary", a.Summary)
	f.section(&b, "Cause", a.Cause)
	if len(a.Windows) > 0 {
		f.section(&b, "Windows", ErasText(a.Windows))
	}
	if len(a.LookAlikes) > 0 {
		b.WriteString("Look-alikes\n")
		for _, l := range a.LookAlikes {
			fmt.Fprintf(&b, "  - %s\n", f.wrap(l.ID+": "+l.TellApart, 4))
		}
		b.WriteString("\n")
	}
	b.WriteString("Remediation, in order\n")
	for _, s := range steps {
		f.step(&b, s)
	}
	if len(a.References) > 0 {
		b.WriteString("References\n")
		for _, r := range a.References {
			fmt.Fprintf(&b, "  - %s\n", f.wrap(ReferenceText(r), 4))
		}
	}
	return b.String()
}

// ReferenceText is a reference as one line: title, then its address.
func ReferenceText(r Reference) string {
	if r.URL == "" {
		return r.Title
	}
	return r.Title + " <" + r.URL + ">"
}

// PhaseName is how reports print a phase.
func PhaseName(phase string) string {
	switch phase {
	case PhaseCheck:
		return "CHECK"
	case PhaseLastResort:
		return "LAST RESORT"
	}
	return "FIX"
}

// StepTag is the bracketed line under a step's title: phase, risk, where it
// runs and whether it disconnects users.
func StepTag(s RankedStep) string {
	tag := PhaseName(s.Phase) + "; " + s.Risk + "; on the " + strings.ReplaceAll(s.Where, "-", " ")
	if s.DisconnectsUsers {
		tag += "; DISCONNECTS USERS"
	}
	return tag
}

// VersionsText says which Windows versions a step is for, and warns when the
// evidence does not show the host runs one of them.
func VersionsText(s RankedStep) string {
	if len(s.Windows) == 0 {
		return "all versions this article covers"
	}
	t := ErasText(s.Windows)
	if s.EraUnsure {
		t += " only (check the host's version first: the logs do not show it)"
	}
	return t
}

// ShellName is how a command block is labelled.
func ShellName(shell string) string {
	if shell == "powershell" {
		return "PowerShell"
	}
	return "cmd"
}

// folder folds an article's prose at one width.
type folder struct{ width int }

func (f folder) wrap(text string, indent int) string { return Wrap(text, indent, f.width) }

// titleLine is a step's title and its tag two spaces after it; the tag
// moves to its own line when it does not fit after the title.
func (f folder) titleLine(title, tag string) string {
	line := f.wrap(title, 5)
	last := line[strings.LastIndexByte(line, '\n')+1:]
	col := len(last)
	if !strings.Contains(line, "\n") {
		col += 5 // Wrap counts the first line from the indent too
	}
	if col+2+len(tag) <= f.width {
		return line + "  " + tag
	}
	return line + "\n     " + f.wrap(tag, 5)
}

func (f folder) step(b *strings.Builder, s RankedStep) {
	fmt.Fprintf(b, "  %s\n", f.titleLine(fmt.Sprintf("%d. %s", s.Rank, s.Title), "["+StepTag(s)+"]"))
	fmt.Fprintf(b, "     %s\n", f.wrap("Applies to: "+VersionsText(s), 5))
	fmt.Fprintf(b, "     %s\n", f.wrap(s.Detail, 5))
	if s.Decides != "" {
		fmt.Fprintf(b, "     Decides: %s\n", Wrap(s.Decides, 14, f.width))
	}
	renderCommands(b, "Back up first", s.Backup)
	renderCommands(b, "Run", s.Commands)
	fmt.Fprintf(b, "     Verify: %s\n", Wrap(s.Verify, 13, f.width))
	renderCommands(b, "Verify with", s.VerifyCommands)
	if s.Why != "" {
		fmt.Fprintf(b, "     Why here: %s\n", Wrap(s.Why, 15, f.width))
	}
	b.WriteString("\n")
}

func renderCommands(b *strings.Builder, label string, cs []Command) {
	for _, c := range cs {
		fmt.Fprintf(b, "     %s (%s):\n       %s\n", label, ShellName(c.Shell), c.Run)
	}
}

func (f folder) section(b *strings.Builder, name, text string) {
	fmt.Fprintf(b, "%s\n  %s\n\n", name, f.wrap(strings.TrimSpace(text), 2))
}

// textWidth is the column articles fold at when no width is given.
const textWidth = 100

// Wrap folds text at width columns, continuation lines indented by indent;
// the report renderers use it too, so articles and reports fold alike.
func Wrap(text string, indent, width int) string {
	var out strings.Builder
	col := indent
	for i, w := range strings.Fields(text) {
		if i > 0 {
			if col+1+len(w) > width {
				out.WriteString("\n" + strings.Repeat(" ", indent))
				col = indent
			} else {
				out.WriteString(" ")
				col++
			}
		}
		out.WriteString(w)
		col += len(w)
	}
	return out.String()
}
