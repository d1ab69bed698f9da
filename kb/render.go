package kb

import (
	"fmt"
	"strings"
)

// Render formats an article with its steps in the given order, for a
// terminal or a ticket. Backups are printed before the commands they
// protect.
func Render(a Article, steps []RankedStep) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n\n", a.ID, a.Title)
	section(&b, "Summary", a.Summary)
	section(&b, "Cause", a.Cause)
	if len(a.Windows) > 0 {
		section(&b, "Windows", strings.Join(a.Windows, ", "))
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
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	return b.String()
}

func renderStep(b *strings.Builder, s RankedStep) {
	tag := s.Risk
	if s.LastResort {
		tag += ", LAST RESORT"
	}
	fmt.Fprintf(b, "  %d. %s  [%s; on the %s]\n", s.Rank, s.Title, tag, strings.ReplaceAll(s.Where, "-", " "))
	fmt.Fprintf(b, "     %s\n", wrap(s.Detail, 5))
	if len(s.Backup) > 0 {
		b.WriteString("     Back up first:\n")
		for _, c := range s.Backup {
			fmt.Fprintf(b, "       %s\n", c)
		}
	}
	if len(s.Commands) > 0 {
		b.WriteString("     Commands:\n")
		for _, c := range s.Commands {
			fmt.Fprintf(b, "       %s\n", c)
		}
	}
	fmt.Fprintf(b, "     Verify: %s\n", wrap(s.Verify, 5))
	if s.Why != "" {
		fmt.Fprintf(b, "     Why here: %s\n", s.Why)
	}
	b.WriteString("\n")
}

func section(b *strings.Builder, name, text string) {
	fmt.Fprintf(b, "%s\n  %s\n\n", name, wrap(strings.TrimSpace(text), 2))
}

// wrap folds text at about 100 columns, indenting continuation lines.
func wrap(text string, indent int) string {
	const width = 100
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
