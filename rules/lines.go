package rules

import (
	"regexp"
	"strings"
)

// lineMap locates rules, classes and keys in a TOML file's text so problems
// can name a line. The TOML decoder keeps key positions private, so this
// reads the headers itself: the k-th [[rule]] header starts the k-th rule.
type lineMap struct {
	lines   []string
	rules   []int // 0-based line index of each [[rule]] header
	classes []int
}

var headerRe = regexp.MustCompile(`^\s*\[\[\s*(rule|class)\s*\]\]\s*(#.*)?$`)

func newLineMap(text string) lineMap {
	m := lineMap{lines: strings.Split(text, "\n")}
	for i, l := range m.lines {
		if g := headerRe.FindStringSubmatch(l); g != nil {
			if g[1] == "rule" {
				m.rules = append(m.rules, i)
			} else {
				m.classes = append(m.classes, i)
			}
		}
	}
	return m
}

// ruleLine is the 1-based line of rule k's header, 0 when unknown.
func (m lineMap) ruleLine(k int) int { return at(m.rules, k) }

func (m lineMap) classLine(k int) int { return at(m.classes, k) }

func at(idx []int, k int) int {
	if k < len(idx) {
		return idx[k] + 1
	}
	return 0
}

// keyLine finds key (the last part of a dotted path) inside rule k's
// section; it falls back to the rule's header line.
func (m lineMap) keyLine(k int, key string) int {
	start := m.ruleLine(k)
	if start == 0 {
		return 0
	}
	end := len(m.lines)
	for _, h := range append(append([]int{}, m.rules...), m.classes...) {
		if h+1 > start && h < end {
			end = h
		}
	}
	if i := strings.LastIndex(key, "."); i >= 0 {
		key = key[i+1:]
	}
	re := regexp.MustCompile(`^\s*(` + regexp.QuoteMeta(key) + `\s*=|\[+[^\]]*\b` + regexp.QuoteMeta(key) + `\s*\]+)`)
	for i := start - 1; i < end; i++ {
		if re.MatchString(m.lines[i]) {
			return i + 1
		}
	}
	return start
}

// anyKeyLine finds the first line defining key anywhere (for keys the
// decoder did not recognise).
func (m lineMap) anyKeyLine(key string) int {
	if i := strings.LastIndex(key, "."); i >= 0 {
		key = key[i+1:]
	}
	re := regexp.MustCompile(`^\s*"?` + regexp.QuoteMeta(key) + `"?\s*=`)
	for i, l := range m.lines {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return 0
}

// ruleAt is the index of the rule whose section holds 1-based line n, -1
// when the line is outside every rule.
func (m lineMap) ruleAt(n int) int {
	k := -1
	for i, h := range m.rules {
		if h+1 <= n {
			k = i
		}
	}
	for _, h := range m.classes {
		if k >= 0 && h+1 <= n && h > m.rules[k] {
			return -1
		}
	}
	return k
}

var idLineRe = regexp.MustCompile(`^\s*id\s*=\s*["']([^"']*)["']`)

// ruleID reads rule k's id from the text, for files that do not decode.
func (m lineMap) ruleID(k int) string {
	if k < 0 || k >= len(m.rules) {
		return ""
	}
	for i := m.rules[k] + 1; i < len(m.lines); i++ {
		if headerRe.MatchString(m.lines[i]) {
			break
		}
		if g := idLineRe.FindStringSubmatch(m.lines[i]); g != nil {
			return g[1]
		}
	}
	return ""
}

var testHeaderRe = regexp.MustCompile(`^\s*\[\[\s*rule\s*\.\s*test\s*\]\]`)

// testLines are the 1-based lines of rule k's [[rule.test]] headers.
func (m lineMap) testLines(k int) []int {
	if k < 0 || k >= len(m.rules) {
		return nil
	}
	var out []int
	for i := m.rules[k] + 1; i < len(m.lines); i++ {
		if headerRe.MatchString(m.lines[i]) {
			break
		}
		if testHeaderRe.MatchString(m.lines[i]) {
			out = append(out, i+1)
		}
	}
	return out
}
