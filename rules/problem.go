package rules

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a rule file, located for a person to fix.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"` // 0 when unknown
	Rule string `json:"rule"` // rule id, or "class NAME" for a class, "" for file-level problems
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	switch {
	case strings.HasPrefix(p.Rule, "class "), strings.HasPrefix(p.Rule, "diagnosis "):
		fmt.Fprintf(&b, "%s: ", p.Rule)
	case p.Rule != "":
		fmt.Fprintf(&b, "rule %s: ", p.Rule)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one load; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	if len(ps) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems in rules:\n  %s", len(ps), strings.Join(lines, "\n  "))
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
	return ps
}
