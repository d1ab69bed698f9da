package kb

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzLoadArticle: whatever the bytes of an article file, LoadFS returns a
// base or an error naming the file, never a panic; a base that loads can
// rank its steps for a case without panicking either (boost_when is an
// expression). In plain `go test` only the seeds run (every built-in
// article, renamed x, and a few crafted ones); see docs/limits.md for a
// longer run.
func FuzzLoadArticle(f *testing.F) {
	idLine := regexp.MustCompile(`(?m)^id = "[^"]*"`)
	names, _ := fs.Glob(articleFS, "articles/*.toml")
	for _, n := range names {
		b, _ := fs.ReadFile(articleFS, n)
		loc := idLine.FindIndex(b) // the article's id comes first; steps have their own
		if loc == nil {
			f.Fatalf("%s: no id line", n)
		}
		f.Add(append(append(append([]byte{}, b[:loc[0]]...), `id = "x"`...), b[loc[1]:]...))
	}
	f.Add([]byte("id = \"x\"\nv = " + strings.Repeat("[", 300) + strings.Repeat("]", 300) + "\n"))
	f.Add([]byte("id = \"x\"\ntitle = \"" + strings.Repeat("t", 5000) + "\"\n"))
	f.Add([]byte("id = \"x\"\n[[step]]\nid = \"s\"\nboost_when = 'len(filter(1..1000000, # > 0)) > 0'\nboost_by = 1\n"))
	f.Add([]byte("id = \"x\"\n[[step]]\n[[step.command]]\nshell = 7\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := LoadFS(fstest.MapFS{"a/x.toml": {Data: data}}, "a")
		if err != nil {
			if !strings.Contains(err.Error(), "a/x.toml") {
				t.Fatalf("error names no file: %v", err)
			}
			return
		}
		a, ok := b.Get("x")
		if !ok || len(b.All()) != 1 {
			t.Fatalf("loaded without article x: %d articles", len(b.All()))
		}
		c := Case{ID: "x", Severity: "high", Confidence: 1, Count: 3, Host: "RDSH01",
			Facts: map[string]any{"license_server": "LS01", "days_left": 3.0}, Group: map[string]string{"host": "RDSH01"}}
		if steps := Rank(c, a); len(steps) > len(a.Steps) {
			t.Fatalf("%d ranked steps of %d", len(steps), len(a.Steps))
		}
	})
}
