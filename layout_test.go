package tsdiag_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tsdiag/tsdiag"

// stages is the pipeline as the imports must follow it, lowest first: a
// package may import packages of an earlier stage, never of a later one.
// The input readers sit above the decoders because they call them (the
// data enters at the readers, the Event type is the decoder's). Within a
// stage a package may import only its own parent (engine/suppress →
// engine) or a pair listed in sameStage, so kb can never import engine
// again and nothing of the decoder reaches for the registry reader.
var stages = []struct {
	name string
	pkgs []string
}{
	{"format", []string{"evtx/internal/format", "evtx/internal/spool", "internal/tomlcheck"}},
	{"decoder", []string{"evtx", "evtx/evt", "evtx/xmlevents", "evtx/internal/goevtx", "evtx/writer", "evtx/evt/evtenc"}},
	{"inputs", []string{"evtx/source", "evtx/watch", "evtx/live", "evtx/live/livetest", "internal/regcfg"}},
	{"rules", []string{"rules"}},
	{"findings + kb", []string{"engine", "engine/suppress", "kb"}},
	{"report", []string{"internal/report"}},
	{"api", []string{"."}},
	{"tools", []string{"internal/scenario", "internal/readback", "internal/collect"}},
	{"cmd", []string{"cmd/tsdiag", "examples/embed", "evtx/internal/goevtx/cmd/goevtx-decode"}},
}

// sameStage lists the imports between siblings of one stage.
var sameStage = map[string][]string{
	"evtx/watch": {"evtx/live"}, // live's record-id de-duplication, shared
}

// Every package of the module (non-test files, every build tag) imports
// only down the pipeline, and every package has a stage: a new package
// must be placed before it passes.
func TestImportsRunDownThePipeline(t *testing.T) {
	stage := map[string]int{}
	for i, s := range stages {
		for _, p := range s.pkgs {
			stage[p] = i
		}
	}
	imports := moduleImports(t)
	if len(imports) < 20 {
		t.Fatalf("found only %d packages", len(imports))
	}
	for _, pkg := range sortedPkgs(imports) {
		si, ok := stage[pkg]
		if !ok {
			t.Errorf("package %s has no stage in layout_test.go", pkg)
			continue
		}
		for _, imp := range imports[pkg] {
			sj, ok := stage[imp]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which has no stage", pkg, imp)
			case sj > si:
				t.Errorf("%s (%s) imports %s (%s): up the pipeline", pkg, stages[si].name, imp, stages[sj].name)
			case sj == si && !allowedSibling(pkg, imp):
				t.Errorf("%s imports %s, a sibling in stage %s", pkg, imp, stages[si].name)
			}
		}
	}
	for p := range stage {
		if _, ok := imports[p]; !ok {
			t.Errorf("stage table names %s, which is not a package any more", p)
		}
	}
}

func allowedSibling(pkg, imp string) bool {
	if strings.HasPrefix(pkg, imp+"/") {
		return true
	}
	for _, s := range sameStage[pkg] {
		if s == imp {
			return true
		}
	}
	return false
}

// moduleImports maps each package directory (relative, "." for the root)
// to the module packages its non-test files import.
func moduleImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := e.Name()
		if e.IsDir() {
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		seen := map[string]bool{}
		for _, s := range out[dir] {
			seen[s] = true
		}
		if _, ok := out[dir]; !ok {
			out[dir] = nil
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			rel, ok := strings.CutPrefix(p, module)
			if !ok || (rel != "" && rel[0] != '/') {
				continue
			}
			rel = strings.TrimPrefix(rel, "/")
			if rel == "" {
				rel = "."
			}
			if !seen[rel] {
				seen[rel] = true
				out[dir] = append(out[dir], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sortedPkgs(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
