package tomlcheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// The crash of issue #19: 1.3 million nested '[' as a value overflowed the
// parser's stack. Check must refuse it, naming the line, before any parse.
func TestRefusesDeepNesting(t *testing.T) {
	deep := "id = \"x\"\nv = " + strings.Repeat("[", 1_300_000) + strings.Repeat("]", 1_300_000) + "\n"
	err := Check([]byte(deep))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("deep arrays: %v", err)
	}
	inline := "a = " + strings.Repeat("{b = ", MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	if err := Check([]byte(inline)); err == nil {
		t.Fatal("deep inline tables accepted")
	}
}

func TestRefusesSize(t *testing.T) {
	if err := Check(bytes.Repeat([]byte("# x\n"), MaxBytes/4+1)); err == nil {
		t.Fatal("oversized file accepted")
	}
}

// What the parser accepts at the limit, Check accepts too; brackets in
// strings, comments and table headers are not nesting.
func TestAcceptsAtLimit(t *testing.T) {
	doc := "[[rule]]\n[rule.count]\nv = " + strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth) + "\n" +
		"s = \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\" # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n" +
		"m = '''\n[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n'''\n" +
		"b = \"\"\"a \\\"\"\" [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\"\"\n" +
		"after = [1, [2]]\n"
	if err := Check([]byte(doc)); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	var v map[string]any
	if _, err := toml.Decode(doc, &v); err != nil {
		t.Fatalf("test document is not TOML: %v", err)
	}
	if err := Check([]byte("v = " + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1))); err == nil {
		t.Fatal("one level over the limit accepted")
	}
}

// Every TOML file the project ships passes.
func TestShippedFilesPass(t *testing.T) {
	n := 0
	err := filepath.WalkDir("../..", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Ext(p) != ".toml" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		if err := Check(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d TOML files found", n)
	}
}
