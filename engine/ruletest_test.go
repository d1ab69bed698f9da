package engine

import (
	"testing"

	"github.com/tsdiag/tsdiag/rules"
)

func TestRunTestsOnGoodFile(t *testing.T) {
	set, err := rules.Load("../rules/testdata/good.toml")
	if err != nil {
		t.Fatal(err)
	}
	rs := RunTests(set)
	if len(rs) != 2 {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if !r.Passed {
			t.Errorf("%s/%s failed: %v", r.Rule, r.Name, r.Failures)
		}
	}
}
