package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/rules"
)

func init() { register(newRulesCmd) }

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List, lint and test diagnosis rules",
		Long: `Rules are TOML files: event classes that name one meaning across Windows eras,
and rules with an expr condition, optional grouping and one time correlation
(count, sequence, absence, distinct). DIR arguments are loaded over the
built-in pack (same id replaces the built-in rule) unless --no-builtin.`,
	}
	var noBuiltin bool
	cmd.PersistentFlags().BoolVar(&noBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	cmd.AddCommand(
		&cobra.Command{
			Use:   "list [DIR...]",
			Short: "List the rules that would run",
			RunE: func(c *cobra.Command, args []string) error {
				set, err := loadRuleSet(noBuiltin, args)
				if err != nil {
					return withCode(exitError, err)
				}
				return listRules(c.OutOrStdout(), set)
			},
		},
		&cobra.Command{
			Use:   "lint [DIR...]",
			Short: "Check rule files and report every problem (exit 2 on any)",
			RunE: func(c *cobra.Command, args []string) error {
				return lintRules(c.OutOrStdout(), noBuiltin, args)
			},
		},
		&cobra.Command{
			Use:   "test [DIR...]",
			Short: "Run the inline [[rule.test]] cases (exit 1 on any failure)",
			RunE: func(c *cobra.Command, args []string) error {
				return testRules(c.OutOrStdout(), noBuiltin, args)
			},
		},
	)
	return cmd
}

// loadRuleSet loads the built-in pack (unless noBuiltin) with paths over it.
func loadRuleSet(noBuiltin bool, paths []string) (*rules.Set, error) {
	return tsdiag.LoadRules(noBuiltin, paths)
}

func listRules(w io.Writer, set *rules.Set) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tKIND\tTESTS\tTITLE")
	for _, r := range set.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.ID, r.Severity, r.Kind, len(r.Tests), r.Title)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d rules, %d classes, %d (provider, event id) pairs selected\n", len(set.Rules), len(set.Classes), len(set.Selects()))
	return nil
}

func lintRules(w io.Writer, noBuiltin bool, paths []string) error {
	_, err := loadRuleSet(noBuiltin, paths)
	var ps rules.Problems
	switch {
	case errors.As(err, &ps):
		for _, p := range ps {
			fmt.Fprintln(w, p.String())
		}
		return withCode(exitError, fmt.Errorf("%d problem(s) in rules", len(ps)))
	case err != nil:
		return withCode(exitError, err)
	}
	fmt.Fprintln(w, "rules OK")
	return nil
}

func testRules(w io.Writer, noBuiltin bool, paths []string) error {
	set, err := loadRuleSet(noBuiltin, paths)
	if err != nil {
		return withCode(exitError, err)
	}
	results := engine.RunTests(onlyFrom(set, paths))
	for _, r := range results {
		status := "ok  "
		if !r.Passed {
			status = "FAIL"
		}
		fmt.Fprintf(w, "%s %s / %s (%s:%d)\n", status, r.Rule, r.Name, r.File, r.Line)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "       %s\n", f)
		}
	}
	passed, failed := engine.Summary(results)
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return withCode(exitFindings, nil)
	}
	return nil
}

// onlyFrom keeps the rules defined under paths, so `rules test DIR` tests
// DIR's rules (the built-in classes stay available to them).
func onlyFrom(set *rules.Set, paths []string) *rules.Set {
	if len(paths) == 0 {
		return set
	}
	out := *set
	out.Rules = nil
	for _, r := range set.Rules {
		for _, p := range paths {
			if r.File == p || strings.HasPrefix(r.File, strings.TrimSuffix(p, "/")+"/") {
				out.Rules = append(out.Rules, r)
				break
			}
		}
	}
	return &out
}
