package suppress

import (
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

const sample = `# accepted findings
[[suppress]]
diagnosis = "grace-period-expiring"
group = { host = "RDLAB01" }
reason = "lab host, licensed in January"
expires = 2027-01-31

[[suppress]]
diagnosis = "invalid-client-license"
group = { client = "WS-OLD" }
reason = "thin client being retired"
expires = "2025-06-30"

[[suppress]]
diagnosis = "cal-pool-exhausted"
reason = "more CALs on order"
expires = 2025-01-01
`

func findings() []engine.Finding {
	return []engine.Finding{
		{ID: "grace-period-expiring", Rule: "grace-countdown", Host: "RDLAB01", Group: map[string]string{}},
		{ID: "grace-period-expiring", Rule: "grace-countdown", Host: "RDPROD01", Group: map[string]string{}},
		{ID: "invalid-client-license", Rule: "client-1003", Group: map[string]string{"client": "ws-old"}},
		{ID: "invalid-client-license", Rule: "client-1003", Group: map[string]string{"client": "WS-NEW"}},
	}
}

func TestApplyHidesMatchingUntilExpiryDayEnds(t *testing.T) {
	f, err := Parse("s.toml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{f.Entries[0].Line, f.Entries[1].Line, f.Entries[2].Line}; got[0] != 2 || got[1] != 8 || got[2] != 14 {
		t.Fatalf("lines %v, want [2 8 14]", got)
	}
	// Last minute of 2025-06-30: the second entry still applies.
	now := time.Date(2025, 6, 30, 23, 59, 0, 0, time.UTC)
	kept, hidden, expired := f.Apply(findings(), now)
	if len(hidden) != 2 || hidden[0].Finding.Host != "RDLAB01" || hidden[1].Finding.Group["client"] != "ws-old" {
		t.Fatalf("hidden = %+v", hidden)
	}
	if len(kept) != 2 {
		t.Fatalf("kept %d, want 2", len(kept))
	}
	if len(expired) != 1 || expired[0].Diagnosis != "cal-pool-exhausted" || expired[0].Matched != 0 {
		t.Fatalf("expired = %+v", expired)
	}

	// One minute later it has expired: the finding is back and reported.
	kept, hidden, expired = f.Apply(findings(), now.Add(2*time.Minute))
	if len(hidden) != 1 || len(kept) != 3 {
		t.Fatalf("after expiry: hidden %d kept %d, want 1 and 3", len(hidden), len(kept))
	}
	if len(expired) != 2 || expired[0].Diagnosis != "invalid-client-license" || expired[0].Matched != 1 {
		t.Fatalf("expired = %+v", expired)
	}
}

func TestParseReportsEveryProblemWithLine(t *testing.T) {
	bad := `[[suppress]]
diagnosis = "x"
expires = "31/01/2027"

[[suppress]]
reason = "r"
colour = "blue"
`
	_, err := Parse("bad.toml", []byte(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`bad.toml:1: suppression 1: reason is required`,
		`bad.toml:1: suppression 1: expires "31/01/2027" is not a date`,
		`bad.toml:5: suppression 2: diagnosis is required`,
		`bad.toml:5: suppression 2: expires is required`,
		`unknown key "suppress.colour"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseSyntaxErrorNamesFile(t *testing.T) {
	_, err := Parse("broken.toml", []byte("[[suppress]\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "broken.toml:") {
		t.Fatalf("err = %v", err)
	}
}

func TestRuleIDMatchesToo(t *testing.T) {
	e := Entry{Diagnosis: "client-1003", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !e.Matches(findings()[2]) {
		t.Fatal("rule id should match")
	}
}

func TestNilFileKeepsAll(t *testing.T) {
	var f *File
	kept, hidden, expired := f.Apply(findings(), time.Now())
	if len(kept) != 4 || hidden != nil || expired != nil {
		t.Fatal("nil file changed findings")
	}
}

// An incident folds its clients into a list fact: an entry naming one
// client hides the incident of that client alone, never one that also
// lists other clients.
func TestEntryMatchesFoldedLabel(t *testing.T) {
	e := Entry{Diagnosis: "invalid-client-license", Group: map[string]string{"client": "WS-OLD"}}
	one := engine.Finding{ID: "invalid-client-license", Group: map[string]string{"host": "RDSH01"},
		Facts: map[string]any{"clients": []string{"ws-old"}, "client_count": 1}}
	many := engine.Finding{ID: "invalid-client-license", Group: map[string]string{"host": "RDSH01"},
		Facts: map[string]any{"clients": []string{"WS-NEW", "WS-OLD"}, "client_count": 2}}
	if !e.Matches(one) || e.Matches(many) {
		t.Fatalf("one client: %v, two clients: %v", e.Matches(one), e.Matches(many))
	}
}
