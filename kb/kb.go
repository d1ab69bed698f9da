package kb

import (
	"embed"
	"fmt"
	"github.com/tsdiag/tsdiag/internal/tomlcheck"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed articles/*.toml
var articleFS embed.FS

// Risks in the order a cautious administrator would try them.
var riskOrder = map[string]int{"safe": 0, "caution": 1, "destructive": 2}

// Places a step may be run.
var places = map[string]bool{"client": true, "session-host": true, "license-server": true, "domain": true}

// Base is the loaded knowledge base.
type Base struct {
	articles map[string]Article
	order    []string
}

// Load reads the embedded articles and checks each one.
func Load() (*Base, error) { return LoadFS(articleFS, "articles") }

// LoadFS reads every *.toml under dir of fsys; tests use it for broken
// articles.
func LoadFS(fsys fs.FS, dir string) (*Base, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.toml"))
	if err != nil {
		return nil, err
	}
	b := &Base{articles: map[string]Article{}}
	var problems []string
	for _, name := range names {
		a, err := readArticle(fsys, name)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if _, dup := b.articles[a.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s: duplicate article id %q", name, a.ID))
			continue
		}
		for _, p := range b.check(name, a) {
			problems = append(problems, p)
		}
		b.articles[a.ID] = a
		b.order = append(b.order, a.ID)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("kb: %s", strings.Join(problems, "; "))
	}
	sort.Strings(b.order)
	return b, nil
}

func readArticle(fsys fs.FS, name string) (Article, error) {
	var a Article
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return a, err
	}
	if err := tomlcheck.Check(data); err != nil {
		return a, fmt.Errorf("%s: %w", name, err)
	}
	md, err := toml.Decode(string(data), &a)
	if err != nil {
		return a, fmt.Errorf("%s: %w", name, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return a, fmt.Errorf("%s: unknown keys %v", name, un)
	}
	return a, nil
}

// check validates one article and compiles its boost conditions.
func (b *Base) check(name string, a Article) []string {
	var p []string
	bad := func(f string, args ...any) { p = append(p, name+": "+fmt.Sprintf(f, args...)) }
	if a.ID == "" || a.Title == "" || a.Summary == "" || a.Cause == "" {
		bad("id, title, summary and cause are required")
	}
	if path.Base(name) != a.ID+".toml" {
		bad("file name must be %s.toml", a.ID)
	}
	if len(a.Steps) == 0 || len(a.References) == 0 || len(a.Windows) == 0 {
		bad("article %s needs steps, references and windows", a.ID)
	}
	p = append(p, checkSchema(name, a)...)
	seen := map[string]bool{}
	for _, s := range a.Steps {
		if s.ID == "" || seen[s.ID] {
			bad("step %q: missing or duplicate id", s.ID)
		}
		seen[s.ID] = true
		if _, ok := riskOrder[s.Risk]; !ok {
			bad("step %s: risk %q is not safe, caution or destructive", s.ID, s.Risk)
		}
		if !places[s.Where] {
			bad("step %s: where %q is not client, session-host, license-server or domain", s.ID, s.Where)
		}
		if s.Verify == "" || s.Title == "" || s.Detail == "" {
			bad("step %s: title, detail and verify are required", s.ID)
		}
		if s.Risk == "destructive" && len(s.Backup) == 0 {
			bad("step %s: destructive steps need a backup", s.ID)
		}
		if s.Boost != "" {
			if s.BoostBy == 0 {
				bad("step %s: boost_when needs boost_by", s.ID)
			}
			if _, err := compileBoost(s.Boost); err != nil {
				bad("step %s: boost_when: %v", s.ID, err)
			}
		}
	}
	return p
}

// checkSchema validates what the #18 schema adds: phases, era tokens,
// shells, placeholders and references.
func checkSchema(name string, a Article) []string {
	var p []string
	bad := func(f string, args ...any) { p = append(p, name+": "+fmt.Sprintf(f, args...)) }
	for _, w := range a.Windows {
		if !validEra(w) {
			bad("windows: %q is not one of %v", w, Eras)
		}
	}
	for _, r := range a.References {
		if r.Title == "" || !strings.HasPrefix(r.URL, "https://") {
			bad("reference %q: a title and an https:// url are required", r.Title)
		}
	}
	for _, s := range a.Steps {
		if _, ok := phaseOrder[s.Phase]; !ok {
			bad("step %s: phase %q is not check, fix or last-resort", s.ID, s.Phase)
		}
		for _, w := range s.Windows {
			if !slices.Contains(a.Windows, w) {
				bad("step %s: windows %q is not among the article's windows", s.ID, w)
			}
		}
		for _, c := range slices.Concat(s.Backup, s.Commands, s.VerifyCommands) {
			if c.Shell != "cmd" && c.Shell != "powershell" {
				bad("step %s: command %q: shell must be cmd or powershell", s.ID, c.Run)
			}
			if strings.TrimSpace(c.Run) == "" {
				bad("step %s: a command without run", s.ID)
			}
		}
	}
	return p
}

// Get returns the article with this id.
func (b *Base) Get(id string) (Article, bool) {
	a, ok := b.articles[id]
	return a, ok
}

// All returns every article, sorted by id.
func (b *Base) All() []Article {
	out := make([]Article, 0, len(b.order))
	for _, id := range b.order {
		out = append(out, b.articles[id])
	}
	return out
}
