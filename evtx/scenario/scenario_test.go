package scenario_test

import (
	"io/fs"
	"testing"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx/scenario"
)

func loadAll(t *testing.T) []scenario.Scenario {
	t.Helper()
	sub, err := fs.Sub(tsdiag.Scenarios, "testdata/scenarios")
	if err != nil {
		t.Fatal(err)
	}
	all, err := scenario.Load(sub)
	if err != nil {
		t.Fatal(err)
	}
	return all
}
