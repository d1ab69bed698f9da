package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/kb"
	"github.com/tsdiag/tsdiag/rules"
)

func init() { register(newKBCmd) }

func newKBCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kb",
		Short: "Browse the licensing knowledge base (one article per diagnosis)",
	}
	var format, era string
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show an article with its remediation steps in their default order",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			g, err := globals(c)
			if err != nil {
				return withCode(exitError, err)
			}
			w := c.OutOrStdout()
			return kbShow(w, args[0], format, era, textWidth(g.Width, w))
		},
	}
	show.ValidArgsFunction = articleCompletion
	show.Flags().StringVar(&format, "format", "text", "output format: text or json")
	_ = show.RegisterFlagCompletionFunc("format", fixedCompletion("text", "json"))
	show.Flags().StringVar(&era, "era", "", "only the steps for this Windows version ("+strings.Join(kb.Eras, ", ")+")")
	_ = show.RegisterFlagCompletionFunc("era", fixedCompletion(kb.Eras...))
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every article with the rules that diagnose it",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return kbList(c.OutOrStdout())
		},
	}, show)
	return cmd
}

// articleCompletion offers the knowledge base's article ids with titles.
func articleCompletion(_ *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	base, err := kb.Load()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, a := range base.All() {
		if strings.HasPrefix(a.ID, prefix) {
			out = append(out, a.ID+"\t"+a.Title)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func kbList(w io.Writer) error {
	base, err := kb.Load()
	if err != nil {
		return withCode(exitError, err)
	}
	byDiag := map[string][]string{}
	if set, err := rules.Builtin(); err == nil {
		for _, r := range set.Rules {
			d := r.Diagnosis
			if d == "" {
				d = r.ID
			}
			byDiag[d] = append(byDiag[d], r.ID)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTEPS\tRULES\tTITLE")
	for _, a := range base.All() {
		rs := byDiag[a.ID]
		sort.Strings(rs)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", a.ID, len(a.Steps), len(rs), a.Title)
	}
	return tw.Flush()
}

func kbShow(w io.Writer, id, format, era string, width int) error {
	base, err := kb.Load()
	if err != nil {
		return withCode(exitError, err)
	}
	a, ok := base.Get(id)
	if !ok {
		var ids []string
		for _, x := range base.All() {
			if strings.Contains(x.ID, id) || strings.Contains(id, x.ID) {
				ids = append(ids, x.ID)
			}
		}
		hint := "run `tsdiag kb list` for the ids"
		if len(ids) > 0 {
			hint = "did you mean " + strings.Join(ids, ", ") + "?"
		}
		return withCode(exitError, fmt.Errorf("kb: no article %q; %s", id, hint))
	}
	// With no finding at hand, steps keep their default (prior) order;
	// --era leaves out those for other Windows versions.
	steps := kb.Default(a)
	if era != "" {
		if !slices.Contains(kb.Eras, era) {
			return withCode(exitError, fmt.Errorf("kb show: unknown --era %q (one of %s)", era, strings.Join(kb.Eras, ", ")))
		}
		steps = kb.ForEra(a, era)
	}
	switch format {
	case "text":
		_, err = io.WriteString(w, kb.RenderWidth(a, steps, width))
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			kb.Article
			Ranked []kb.RankedStep `json:"ranked_steps"`
		}{a, steps})
	default:
		return withCode(exitError, fmt.Errorf("kb show: unknown --format %q (text or json)", format))
	}
	return err
}
