package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadRuleFile drives the loader a user rule directory goes through
// (rules.LoadOver on the built-in pack, from a file on disk): whatever the
// bytes, the result is a rule set or a Problems error naming the file,
// never a panic, and the set stays within MaxRules. FuzzLoadRules (beside
// it) fuzzes parse and build on their own, without the file and the
// built-in layer. In plain `go test` only the seeds run; see docs/limits.md
// for a longer run.
func FuzzLoadRuleFile(f *testing.F) {
	for _, p := range []string{"testdata/good.toml", "testdata/bad.toml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[[rule]]
id = "user"
title = "t"
severity = "low"
confidence = 1
classes = ["ls_stopped"]
when = 'Param(1) matches "(a|b)*c"'
`))
	f.Add([]byte("v = " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"))
	f.Add([]byte("[[rule]]\nid = \"" + strings.Repeat("x", 5000) + "\"\n"))
	f.Add([]byte("[[class]]\nname = \"c\"\nevents = [" + strings.Repeat(`{ provider = "p", id = 1 },`, 100) + "]\n"))
	f.Add([]byte("[[diagnosis]]\nid = \"d\"\nsymptom_of = [\"d\"]\nsuperseded_by = \"d\"\nstale_when = \"true\"\n"))
	f.Add([]byte("\xff\xfe[\x00r\x00"))
	base, err := Builtin()
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > MaxRuleFileSize+1 {
			return // the reader stops at MaxRuleFileSize+1 bytes
		}
		path := filepath.Join(dir, "fuzz.toml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		set, err := LoadOver(base, path)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if !strings.Contains(err.Error(), "fuzz.toml") && !strings.Contains(err.Error(), "rules/builtin") {
				t.Fatalf("error names no file: %v", err)
			}
			return
		}
		if set == nil || len(set.Rules) > MaxRules {
			t.Fatalf("set %v with %d rules", set != nil, len(set.Rules))
		}
	})
}
