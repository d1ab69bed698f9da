package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() { register(newManCmd) }

func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "man DIR",
		Short: "Write man pages for tsdiag and each of its commands into DIR",
		Long: `Write one man page (section 1, roff) per command into DIR: tsdiag.1,
tsdiag-scan.1, tsdiag-kb-show.1, … DIR is created when missing. Read one with
'man -l DIR/tsdiag-scan.1', or install them under a MANPATH directory's man1/.`,
		Example: `  tsdiag man ./man && man -l man/tsdiag-scan.1
  sudo tsdiag man /usr/local/share/man/man1`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			n, err := writeManPages(c.Root(), args[0])
			if err != nil {
				return withCode(exitError, err)
			}
			fmt.Fprintf(c.ErrOrStderr(), "tsdiag: %d man pages written to %s\n", n, args[0])
			return nil
		},
	}
}

// writeManPages writes a page for root and every command below it.
// cobra/doc would do this but brings go-md2man, which the module proxy
// list this project uses does not have; the pages are plain enough to
// write directly.
func writeManPages(root *cobra.Command, dir string) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	n := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root {
			return nil
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		if err := os.WriteFile(filepath.Join(dir, name+".1"), manPage(c), 0o644); err != nil {
			return err
		}
		n++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return n, err
	}
	if n == 0 {
		return 0, errors.New("no command to document")
	}
	return n, nil
}

// manPage renders one command as roff (man(7) macros).
func manPage(c *cobra.Command) []byte {
	var b bytes.Buffer
	name := strings.ReplaceAll(c.CommandPath(), " ", "-")
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"tsdiag %s\" \"tsdiag manual\"\n", strings.ToUpper(name), roffQuoted(toolVersion()))
	// No hyphenation, ragged right: flags and commands stay whole.
	b.WriteString(".nh\n.ad l\n.SH NAME\n")
	fmt.Fprintf(&b, "%s \\- %s\n", roff(name), roff(c.Short))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", roff(c.UseLine()))
	b.WriteString(".SH DESCRIPTION\n")
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	paragraphs(&b, desc)
	if opts := flagsOf(c.NonInheritedFlags()); len(opts) > 0 {
		b.WriteString(".SH OPTIONS\n")
		b.WriteString(strings.Join(opts, ""))
	}
	if opts := flagsOf(c.InheritedFlags()); len(opts) > 0 {
		b.WriteString(".SH GLOBAL OPTIONS\n")
		b.WriteString(strings.Join(opts, ""))
	}
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n")
		for _, l := range strings.Split(strings.TrimRight(c.Example, "\n"), "\n") {
			b.WriteString(roffLine(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".fi\n")
	}
	if see := seeAlso(c); len(see) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		b.WriteString(strings.Join(see, ",\n") + "\n")
	}
	return b.Bytes()
}

// paragraphs keeps the help text's paragraphs; lines indented in the help
// (examples, lists of codes) stay as they are.
func paragraphs(b *bytes.Buffer, text string) {
	for i, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		lines := strings.Split(p, "\n")
		literal := false
		for _, l := range lines {
			if strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "\t") {
				literal = true
			}
		}
		if literal {
			b.WriteString(".nf\n")
		}
		for _, l := range lines {
			b.WriteString(roffLine(l) + "\n")
		}
		if literal {
			b.WriteString(".fi\n")
		}
	}
}

func flagsOf(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		head := "\\fB\\-\\-" + roff(f.Name) + "\\fR"
		if f.Shorthand != "" {
			head = "\\fB\\-" + roff(f.Shorthand) + "\\fR, " + head
		}
		if varname != "" {
			head += " \\fI" + roff(varname) + "\\fR"
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" && !strings.Contains(usage, "default") {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		out = append(out, ".TP\n"+head+"\n"+roffLine(usage)+"\n")
	})
	return out
}

func seeAlso(c *cobra.Command) []string {
	var names []string
	if c.HasParent() {
		names = append(names, strings.ReplaceAll(c.Parent().CommandPath(), " ", "-"))
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, strings.ReplaceAll(sub.CommandPath(), " ", "-"))
		}
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = ".BR " + roff(n) + " (1)"
	}
	return out
}

// roff escapes text for roff: backslashes, dashes so they print as the
// ASCII hyphen a reader types, and every non-ASCII character as a named
// glyph (\[u2192]), which groff reads without preconv.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	var b strings.Builder
	for _, r := range s {
		if r > 127 {
			fmt.Fprintf(&b, `\[u%04X]`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// roffLine escapes one line of text; a line starting with a dot or an
// apostrophe would be read as a request, so it is guarded with a zero-width \&.
func roffLine(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func roffQuoted(s string) string { return strings.ReplaceAll(roff(s), `"`, `\(dq`) }
