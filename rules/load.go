package rules

import (
	"embed"
	"errors"
	"fmt"
	"github.com/tsdiag/tsdiag/internal/tomlcheck"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed builtin/*.toml
var builtinFS embed.FS

// MaxRuleFileSize bounds one rule file; rule packs are text written by people.
const MaxRuleFileSize = 4 << 20

// rawRule and rawClass are parsed but not yet compiled definitions, kept so
// sets can be merged and rebuilt.
type rawRule struct {
	Rule
	file  string
	line  int
	lines lineMap
	index int // position in its file, for keyLine
}

type rawClass struct {
	Class
	file string
	line int
}

// layer is what one Load read: its rules and classes.
type layer struct {
	rules   []rawRule
	classes []rawClass
	// diagnoses are the [[diagnosis]] tables (rules/diagnosis.go).
	diagnoses []rawDiagnosis
}

// Load reads rule files and directories (every *.toml below them, in name
// order) and compiles them. The error is a Problems listing every problem.
func Load(paths ...string) (*Set, error) { return LoadOver(nil, paths...) }

// LoadOver loads paths on top of base: rules override base rules with the
// same id, classes override base classes with the same name, and rules may
// use base classes. base may be nil.
func LoadOver(base *Set, paths ...string) (*Set, error) {
	l, probs := readPaths(paths)
	var under layer
	if base != nil {
		under = base.src
	}
	set, more := build(under, l)
	if probs = append(probs, more...); len(probs) > 0 {
		return nil, probs.sorted()
	}
	return set, nil
}

// Lint loads paths over base and returns every problem found (nil when the
// rules are clean).
func Lint(base *Set, paths ...string) Problems {
	_, err := LoadOver(base, paths...)
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return nil
}

// Builtin compiles the embedded built-in rule pack.
func Builtin() (*Set, error) {
	names, err := fs.Glob(builtinFS, "builtin/*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	layers := make([]layer, len(names))
	fprobs := make([]Problems, len(names))
	eachParallel(len(names), func(i int) {
		data, _ := builtinFS.ReadFile(names[i])
		fprobs[i] = parseFile("rules/"+names[i], data, &layers[i])
	})
	var l layer
	var probs Problems
	for i := range names {
		l.rules = append(l.rules, layers[i].rules...)
		l.classes = append(l.classes, layers[i].classes...)
		l.diagnoses = append(l.diagnoses, layers[i].diagnoses...)
		probs = append(probs, fprobs[i]...)
	}
	set, more := build(layer{}, l)
	if probs = append(probs, more...); len(probs) > 0 {
		return nil, probs.sorted()
	}
	return set, nil
}

// Merge puts user rules over built-in ones: a user rule replaces the
// built-in rule with the same id, a user class the class with the same name.
// Either may be nil (--no-builtin passes a nil builtin).
func Merge(builtin, user *Set) (*Set, error) {
	var b, u layer
	if builtin != nil {
		b = builtin.src
	}
	if user != nil {
		u = user.src
	}
	set, probs := build(b, u)
	if len(probs) > 0 {
		return nil, probs.sorted()
	}
	return set, nil
}

func readPaths(paths []string) (layer, Problems) {
	var l layer
	var probs Problems
	files, probs := expandPaths(paths)
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			probs = append(probs, Problem{File: f, Msg: err.Error()})
			continue
		}
		probs = append(probs, parseFile(f, data, &l)...)
	}
	return l, probs
}

func expandPaths(paths []string) ([]string, Problems) {
	var files []string
	var probs Problems
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			probs = append(probs, Problem{File: p, Msg: "cannot read: " + errText(err)})
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				probs = append(probs, Problem{File: path, Msg: "cannot read: " + errText(err)})
				return nil
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".toml") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			probs = append(probs, Problem{File: p, Msg: err.Error()})
		}
		if len(found) == 0 {
			probs = append(probs, Problem{File: p, Msg: "no *.toml rule files in directory"})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, probs
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %s", errText(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxRuleFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %s", errText(err))
	}
	if len(data) > MaxRuleFileSize {
		return nil, fmt.Errorf("rule file larger than %d bytes", MaxRuleFileSize)
	}
	return data, nil
}

// parseFile decodes one TOML file into l, reporting syntax and type errors
// and keys the schema does not know (usually typos).
func parseFile(name string, data []byte, l *layer) (probs Problems) {
	defer func() {
		if r := recover(); r != nil {
			probs = append(probs, Problem{File: name, Msg: fmt.Sprintf("cannot parse: %v", r)})
		}
	}()
	var f File
	if err := tomlcheck.Check(data); err != nil {
		var te *tomlcheck.Error
		errors.As(err, &te)
		return Problems{{File: name, Line: te.Line, Msg: te.Msg}}
	}
	text := string(data)
	md, err := toml.Decode(text, &f)
	lm := newLineMap(text)
	if err != nil {
		return Problems{decodeProblem(name, err, lm)}
	}
	for _, k := range md.Undecoded() {
		line := lm.anyKeyLine(k.String())
		p := Problem{File: name, Line: line, Msg: fmt.Sprintf("unknown key %q", k.String())}
		if i := lm.ruleAt(line); i >= 0 && i < len(f.Rules) {
			p.Rule = f.Rules[i].ID
		}
		probs = append(probs, p)
	}
	for i, c := range f.Classes {
		l.classes = append(l.classes, rawClass{Class: c, file: name, line: lm.classLine(i)})
	}
	for i, r := range f.Rules {
		l.rules = append(l.rules, rawRule{Rule: r, file: name, line: lm.ruleLine(i), lines: lm, index: i})
	}
	appendDiagnoses(l, name, text, f.Diagnoses)
	return probs
}

var tomlLineRe = regexp.MustCompile(`^toml: line (\d+)`)

func decodeProblem(name string, err error, lm lineMap) Problem {
	p := Problem{File: name, Msg: oneLine(err.Error())}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		p.Line = pe.Position.Line
		p.Msg = pe.Message
		if pe.LastKey != "" {
			p.Msg = fmt.Sprintf("%s: %s", pe.LastKey, pe.Message)
		}
		p.Rule = lm.ruleID(lm.ruleAt(p.Line))
		return p
	}
	// Type mismatches come as plain errors "toml: line N (last key …): …".
	if g := tomlLineRe.FindStringSubmatch(p.Msg); g != nil {
		p.Line, _ = strconv.Atoi(g[1])
		p.Msg = strings.TrimPrefix(p.Msg[len(g[0]):], " ")
		p.Rule = lm.ruleID(lm.ruleAt(p.Line))
	}
	return p
}
