package rules

import (
	"os"
	"testing"
	"time"
)

// FuzzLoadRules: no rule file may panic or hang the loader; every failure
// is a Problems error.
func FuzzLoadRules(f *testing.F) {
	for _, p := range []string{"testdata/good.toml", "testdata/bad.toml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	if names, err := builtinFS.ReadDir("builtin"); err == nil {
		for _, n := range names {
			b, _ := builtinFS.ReadFile("builtin/" + n.Name())
			f.Add(b)
		}
	}
	f.Add([]byte("[[rule]]\nid = \"x\"\n[rule.sequence]\nsteps = [{}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var l layer
		probs := parseFile("fuzz.toml", data, &l)
		set, more := build(layer{}, l)
		var err error
		if probs = append(probs, more...); len(probs) > 0 {
			set, err = nil, probs
		}
		if err == nil && set == nil {
			t.Fatal("nil set without error")
		}
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
	})
}

// FuzzEvalExpr: hostile expressions compile or fail cleanly, and evaluation
// stays within its budgets (no panic, no hang).
func FuzzEvalExpr(f *testing.F) {
	for _, s := range []string{
		`Param(1) == "x"`, `DaysUntil(ParseDate(Param(1))) < 14`, `len(map(1..1000000, #))`,
		`Data("a") + Data["b"]`, `Is("c")`, `reduce(1..1000, #acc + Param(1), "")`,
		`let a = Param(1) + Param(1); a + a`, `filter(Params, # matches "^[a-z]+$")`, `Join(Params, ",")`,
	} {
		f.Add(s, "4/15/2021")
	}
	cls := classIndex{"c": {refOf("termservice", 1009): {}}}
	f.Fuzz(func(t *testing.T, src, param string) {
		for _, k := range []exprKind{condExpr, valueExpr, factExpr} {
			p, err := compileExpr(src, k, cls)
			if err != nil {
				continue
			}
			e := env(param, param+param)
			start := time.Now()
			if k == factExpr {
				fe := &FactEnv{Env: *e, Last: e.Event}
				fe.Env.bind()
				_, _ = p.Run(fe)
			} else {
				_, _ = p.Run(e)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%q ran %v", src, d)
			}
		}
	})
}
