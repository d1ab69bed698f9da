// Package suppress reads a suppression file and applies it to findings.
//
// A suppression hides an accepted finding (a lab server in grace on purpose,
// a client being retired) until a date, so CI stays green for known cases
// and turns red again when the acceptance runs out:
//
//	[[suppress]]
//	diagnosis = "grace-period-expiring"
//	group     = { host = "RDLAB01" }   # optional; every listed label must match
//	reason    = "lab host, licensed in January"
//	expires   = 2027-01-31             # or "2027-01-31"; applies through that day (UTC)
//
// Expired entries stop applying and are reported, so an acceptance never
// outlives its review silently.
package suppress

import (
	"bytes"
	"fmt"
	"github.com/tsdiag/tsdiag/internal/tomlcheck"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tsdiag/tsdiag/engine"
)

// Entry is one [[suppress]] table.
type Entry struct {
	Diagnosis string            `json:"diagnosis"`
	Group     map[string]string `json:"group,omitempty"`
	Reason    string            `json:"reason"`
	Expires   time.Time         `json:"expires"` // the last day it applies, 00:00 UTC
	File      string            `json:"file"`
	Line      int               `json:"line"`
}

// ExpiresText is the expiry as written: YYYY-MM-DD.
func (e Entry) ExpiresText() string { return e.Expires.Format(time.DateOnly) }

// Matches tells whether the entry names this finding: same diagnosis (or
// rule id), and every group label it lists has the finding's value. The
// label "host" also matches the finding's host. A label an incident folded
// into a list fact (client → clients) matches when that value is the only
// one listed: suppressing one retired client must not hide the others.
func (e Entry) Matches(f engine.Finding) bool {
	if e.Diagnosis != f.ID && e.Diagnosis != f.Rule {
		return false
	}
	for k, v := range e.Group {
		got, ok := f.Group[k]
		if !ok && k == "host" {
			got, ok = f.Host, f.Host != ""
		}
		if !ok {
			if list, _ := f.Facts[k+"s"].([]string); len(list) == 1 {
				got, ok = list[0], true
			}
		}
		if !ok || !strings.EqualFold(got, v) {
			return false
		}
	}
	return true
}

// activeAt tells whether the entry still applies at now: through the whole
// expiry day, in UTC.
func (e Entry) activeAt(now time.Time) bool {
	return now.UTC().Before(e.Expires.AddDate(0, 0, 1))
}

// File is a loaded suppression file.
type File struct {
	Path    string
	Entries []Entry
}

type rawFile struct {
	Suppress []rawEntry `toml:"suppress"`
}

type rawEntry struct {
	Diagnosis string            `toml:"diagnosis"`
	Group     map[string]string `toml:"group"`
	Reason    string            `toml:"reason"`
	Expires   any               `toml:"expires"`
}

// Load reads and checks a suppression file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("suppression file: %w", err)
	}
	return Parse(path, data)
}

var headerRe = regexp.MustCompile(`^\s*\[\[\s*suppress\s*\]\]\s*(#.*)?$`)

// Parse checks data (named name in errors). Every problem is reported at
// once, each with its line.
func Parse(name string, data []byte) (*File, error) {
	var raw rawFile
	if err := tomlcheck.Check(data); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lines := headerLines(data)
	var problems []string
	for _, k := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("%s: unknown key %q", name, k.String()))
	}
	f := &File{Path: name}
	for i, r := range raw.Suppress {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		e, errs := r.check()
		for _, p := range errs {
			problems = append(problems, fmt.Sprintf("%s:%d: suppression %d: %s", name, line, i+1, p))
		}
		e.File, e.Line = name, line
		f.Entries = append(f.Entries, e)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return f, nil
}

func headerLines(data []byte) []int {
	var out []int
	for i, l := range strings.Split(string(data), "\n") {
		if headerRe.MatchString(l) {
			out = append(out, i+1)
		}
	}
	return out
}

func (r rawEntry) check() (Entry, []string) {
	e := Entry{Diagnosis: strings.TrimSpace(r.Diagnosis), Group: r.Group, Reason: strings.TrimSpace(r.Reason)}
	var errs []string
	if e.Diagnosis == "" {
		errs = append(errs, "diagnosis is required")
	}
	if e.Reason == "" {
		errs = append(errs, "reason is required (say why this finding is accepted)")
	}
	exp, err := parseExpiry(r.Expires)
	if err != nil {
		errs = append(errs, err.Error())
	}
	e.Expires = exp
	return e, errs
}

// parseExpiry accepts a TOML local date (expires = 2027-01-31) or the same
// text quoted.
func parseExpiry(v any) (time.Time, error) {
	switch x := v.(type) {
	case nil:
		return time.Time{}, fmt.Errorf("expires is required (YYYY-MM-DD): an acceptance must be reviewed")
	case time.Time:
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
	case string:
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(x))
		if err != nil {
			return time.Time{}, fmt.Errorf("expires %q is not a date (YYYY-MM-DD)", x)
		}
		return t, nil
	default:
		return time.Time{}, fmt.Errorf("expires must be a date (YYYY-MM-DD), not %T", v)
	}
}

// Suppressed is a finding hidden by an entry.
type Suppressed struct {
	Finding engine.Finding
	By      Entry
}

// Expired is an entry past its date, with the findings it would still
// have hidden (those are kept and reported).
type Expired struct {
	Entry
	Matched int `json:"matched"`
}

// Apply splits findings into kept and suppressed at now (the wall-clock
// date: acceptances expire in calendar time, whatever the logs' dates).
// Every expired entry is returned, whether it matched or not.
func (f *File) Apply(findings []engine.Finding, now time.Time) (kept []engine.Finding, hidden []Suppressed, expired []Expired) {
	if f == nil {
		return findings, nil, nil
	}
	var active []Entry
	expiredIdx := map[int]int{}
	for i, e := range f.Entries {
		if e.activeAt(now) {
			active = append(active, e)
			continue
		}
		expiredIdx[i] = len(expired)
		expired = append(expired, Expired{Entry: e})
	}
	for _, fd := range findings {
		if e, ok := firstMatch(active, fd); ok {
			hidden = append(hidden, Suppressed{Finding: fd, By: e})
			continue
		}
		kept = append(kept, fd)
		for i, e := range f.Entries {
			if j, ok := expiredIdx[i]; ok && e.Matches(fd) {
				expired[j].Matched++
			}
		}
	}
	sort.SliceStable(expired, func(i, j int) bool { return expired[i].Line < expired[j].Line })
	return kept, hidden, expired
}

func firstMatch(entries []Entry, f engine.Finding) (Entry, bool) {
	for _, e := range entries {
		if e.Matches(f) {
			return e, true
		}
	}
	return Entry{}, false
}
