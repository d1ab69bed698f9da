package kb

import (
	"fmt"
	"strings"
)

// Render formats an article with its steps in the given order, for a
// terminal or a ticket. Backups are printed before the commands they
// protect; each command is its own block labelled with its shell.
func Render(a Article, steps []RankedStep) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n\n", a.ID, a.Title)
	section(&b, "Summary", a.Summary)
	section(&b, "Cause", a.Cause)
	if len(a.Windows) > 0 {
		section(&b, "Windows", ErasText(a.Windows))
	}
	if len(a.LookAlikes) > 0 {
		b.WriteString("Look-alikes\n")
		for _, l := range a.LookAlikes {
			fmt.Fprintf(&b, "  - %s\n", wrap(l.ID+": "+l.TellApart, 4))
		}
		b.WriteString("\n")
	}
	b.WriteString("Remediation, in order\n")
	for _, s := range steps {
		renderStep(&b, s)
	}
	if len(a.References) > 0 {
		b.WriteString("References\n")
		for _, r := range a.References {
			fmt.Fprintf(&b, "  - %s\n", ReferenceText(r))
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

func renderStep(b *strings.Builder, s RankedStep) {
	fmt.Fprintf(b, "  %d. %s  [%s]\n", s.Rank, s.Title, StepTag(s))
	fmt.Fprintf(b, "     Applies to: %s\n", VersionsText(s))
	fmt.Fprintf(b, "     %s\n", wrap(s.Detail, 5))
	if s.Decides != "" {
		fmt.Fprintf(b, "     Decides: %s\n", wrap(s.Decides, 14))
	}
	renderCommands(b, "Back up first", s.Backup)
	renderCommands(b, "Run", s.Commands)
	fmt.Fprintf(b, "     Verify: %s\n", wrap(s.Verify, 5))
	renderCommands(b, "Verify with", s.VerifyCommands)
	if s.Why != "" {
		fmt.Fprintf(b, "     Why here: %s\n", s.Why)
	}
	b.WriteString("\n")
}

func renderCommands(b *strings.Builder, label string, cs []Command) {
	for _, c := range cs {
		fmt.Fprintf(b, "     %s (%s):\n       %s\n", label, ShellName(c.Shell), c.Run)
	}
}

func section(b *strings.Builder, name, text string) {
	fmt.Fprintf(b, "%s\n  %s\n\n", name, wrap(strings.TrimSpace(text), 2))
}

// textWidth is the column kb show and the reports fold prose at.
const textWidth = 100

// wrap folds text at textWidth columns, indenting continuation lines.
func wrap(text string, indent int) string { return Wrap(text, indent, textWidth) }

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
