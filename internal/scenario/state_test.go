package scenario_test

import (
	"bytes"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

const stateScenario = `id = "s"
title = "t"
era = "2019"
days = 3
[expect]
diagnosis = "none"
[noise]
hosts = ["RDSH01.contoso.local"]
per_day = 5
[[state]]
host = "RDSH01.contoso.local"
[state.fields]
`

// A scenario's state renders as collect writes it: schema first (so scan
// recognises it), the host and the collection time filled in, and read
// back by the state parser with the fields given.
func TestStateFileReadsBack(t *testing.T) {
	fsys := fstest.MapFS{"s.toml": {Data: []byte(stateScenario + `part_of_domain = false
os = { caption = "Microsoft Windows Server 2019 Standard", build = "17763" }
`)}}
	sc, err := scenario.LoadFile(fsys, "s.toml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := sc.StateFiles(scenario.DefaultStart)
	if err != nil || len(files) != 1 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	f := files[0]
	if f.Name != "RDSH01-licensing-state.json" || !regcfg.IsState(f.Data) {
		t.Fatalf("%s is not recognised as a state file:\n%s", f.Name, f.Data)
	}
	st, err := regcfg.ParseState(bytes.NewReader(f.Data), f.Name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Host != "RDSH01.contoso.local" || st.PartOfDomain == nil || *st.PartOfDomain || st.OS == nil || st.OS.Build != "17763" {
		t.Errorf("read back as %+v", st)
	}
	if want := scenario.DefaultStart.AddDate(0, 0, 3); !st.CollectedAt.Equal(want) {
		t.Errorf("collected at %s, want %s (the end of the log)", st.CollectedAt, want)
	}
}

// A misspelt key would read as "not collected" and hide the diagnosis the
// scenario is for: it is refused with its line.
func TestStateFieldTypoRefused(t *testing.T) {
	for _, field := range []string{"part_of_domian = false\n", "os = { captoin = \"x\" }\n", "host = \"other\"\n"} {
		fsys := fstest.MapFS{"s.toml": {Data: []byte(stateScenario + field)}}
		_, err := scenario.LoadFile(fsys, "s.toml")
		if err == nil || !strings.Contains(err.Error(), "s.toml:10") {
			t.Errorf("%q: got %v, want an error at s.toml:10 (its [[state]])", field, err)
		}
	}
}
