// Package scenario loads licensing scenarios written as TOML data and
// turns them into deterministic event timelines for the EVTX writer.
//
// A scenario names its era, its hosts, a timeline of licensing events
// (each with a schedule: first occurrence, interval, count, jitter), the
// background noise a real server of that era logs, and what a correct
// diagnosis of the resulting log is.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/tsdiag/tsdiag/internal/tomlcheck"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Diagnoses are the knowledge-base ids a scenario may expect (issue 5's
// public contract), plus "none" for a healthy server.
var Diagnoses = []string{
	"none", "no-license-server", "license-server-unreachable", "grace-period-expiring",
	"grace-period-expired", "licensing-mode-not-configured", "licensing-mode-mismatch",
	"cal-pool-exhausted", "temporary-cal-expired", "invalid-client-license",
	"license-server-not-activated", "cal-version-incompatible", "rdsh-certificate-invalid",
	"per-user-cal-ad-attribute", "ls-security-group-rejected", "license-server-pinned",
	"internet-connector-account", "thin-client-firmware", "license-db-problem",
	"cal-migration-leftovers",
	// issue #18's new failure modes (rules/builtin/70-new-diagnoses.toml)
	"licensing-timed-out", "license-service-crashed",
	"cal-pool-running-low", "cannot-issue-client-license",
	// seen in registry exports only (scenarios with [[registry]])
	"licensing-policy-overrides-local",
	// Windows 2003 only (TermService 1029–1040)
	"per-session-licenses-exhausted",
	// seen in a collected state file only (scenarios with [[state]])
	"per-user-mode-on-workgroup",
}

// Eras a scenario may name; 2000 and 2003 write classic sources.
var Eras = []string{"2000", "2003", "2008", "2008r2", "2012r2", "2016", "2019", "2022"}

// Scenario is one scenario file.
type Scenario struct {
	ID          string  `toml:"id"`
	Title       string  `toml:"title"`
	Description string  `toml:"description"`
	Era         string  `toml:"era"`
	Days        int     `toml:"days"` // span of the background noise
	Expect      Expect  `toml:"expect"`
	Noise       Noise   `toml:"noise"`
	Events      []Event `toml:"event"`
	// Registry holds registry exports that belong with the log (a bundle's
	// .reg files), for diagnoses the configuration shows.
	Registry []Registry `toml:"registry"`
	// States holds the live state files (tsdiag collect's
	// licensing-state.json) that belong with the log.
	States []State `toml:"state"`

	File string `toml:"-"` // path inside the loaded fs
}

// Expect is what a correct diagnosis of the scenario's log reports.
type Expect struct {
	Diagnosis string            `toml:"diagnosis"`
	Group     map[string]string `toml:"group"` // labels: host, client, user, license_server
	Facts     map[string]any    `toml:"facts"`
}

// Noise describes the background a real server logs.
type Noise struct {
	Hosts   []string `toml:"hosts"`
	PerDay  int      `toml:"per_day"` // noise records per host per day
	Users   []string `toml:"users"`
	Clients []string `toml:"clients"`
	// Sessions marks hosts that accept RDP sessions (RCM/LSM noise);
	// default: all hosts.
	Sessions []string `toml:"sessions"`
	// TimeZone is the hosts' zone as EventLog 6013 writes it, "<bias
	// minutes> <name>" (bias = minutes west of UTC: "300 Eastern Standard
	// Time"); default "0 Coordinated Universal Time".
	TimeZone string `toml:"time_zone"`
}

// Event is one line of the timeline: an event repeated on a schedule.
type Event struct {
	Source     string   `toml:"source"` // see sources.go
	ID         uint16   `toml:"id"`
	Level      uint8    `toml:"level"`
	Host       string   `toml:"host"`
	Channel    string   `toml:"channel"`
	Params     []string `toml:"params"` // may hold {date:OFFSET} {client} {user} {host} {n}
	Names      []string `toml:"names"`
	Qualifiers *uint16  `toml:"qualifiers"`
	At         string   `toml:"at"`    // offset from the start: "13d09:14", "2d", "36h"
	Every      string   `toml:"every"` // interval between occurrences
	Count      int      `toml:"count"` // occurrences (default 1)
	Jitter     string   `toml:"jitter"`
	Clients    []string `toml:"clients"`
	Users      []string `toml:"users"`

	line int
}

// Load reads every *.toml in the root of fsys, sorted by file name.
// Errors name the file and line.
func Load(fsys fs.FS) ([]Scenario, error) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Scenario
	var errs []error
	seen := map[string]string{}
	for _, n := range names {
		s, err := loadFile(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[s.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: scenario id %q already used by %s", n, s.ID, prev))
			continue
		}
		seen[s.ID] = n
		out = append(out, s)
	}
	if len(out) == 0 && len(errs) == 0 {
		return nil, errors.New("no scenario files (*.toml) found")
	}
	return out, errors.Join(errs...)
}

// Find returns the scenario with the given id.
func Find(all []Scenario, id string) (Scenario, bool) {
	for _, s := range all {
		if s.ID == id {
			return s, true
		}
	}
	return Scenario{}, false
}

// LoadFile reads one scenario file of fsys.
func LoadFile(fsys fs.FS, name string) (Scenario, error) { return loadFile(fsys, name) }

func loadFile(fsys fs.FS, name string) (Scenario, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Scenario{}, err
	}
	var s Scenario
	if err := tomlcheck.Check(b); err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&s)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return s, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return s, fmt.Errorf("%s: %w", name, err)
	}
	s.File = name
	lines := eventLines(b)
	for i := range s.Events {
		if i < len(lines) {
			s.Events[i].line = lines[i]
		}
	}
	// TOML reports the nested keys of a state's fields (decoded into a map)
	// as undecoded; State.validate checks those against the state file.
	und := slices.DeleteFunc(md.Undecoded(), func(k toml.Key) bool { return len(k) > 2 && k[0] == "state" && k[1] == "fields" })
	if len(und) > 0 {
		key := und[0].String()
		return s, fmt.Errorf("%s:%d: unknown key %q", name, keyLine(b, und[0]), key)
	}
	if err := s.validate(b); err != nil {
		return s, fmt.Errorf("%s:%w", name, err)
	}
	return s, nil
}

var timeZoneRE = regexp.MustCompile(`^-?[0-9]{1,3} \S.*$`)

var eventHeader = regexp.MustCompile(`(?m)^[ \t]*\[\[event\]\]`)

// eventLines returns the line of each [[event]] table header.
func eventLines(b []byte) []int {
	var out []int
	for _, loc := range eventHeader.FindAllIndex(b, -1) {
		out = append(out, 1+bytes.Count(b[:loc[0]], []byte("\n")))
	}
	return out
}

// keyLine finds the line where the last part of key is assigned.
func keyLine(b []byte, key toml.Key) int {
	last := key[len(key)-1]
	re := regexp.MustCompile(`(?m)^[ \t]*` + regexp.QuoteMeta(last) + `[ \t]*=|[{,][ \t]*` + regexp.QuoteMeta(last) + `[ \t]*=`)
	if loc := re.FindIndex(b); loc != nil {
		return 1 + bytes.Count(b[:loc[0]], []byte("\n"))
	}
	return 1
}

var registryHeader = regexp.MustCompile(`(?m)^[ \t]*\[\[registry\]\]`)

var stateHeader = regexp.MustCompile(`(?m)^[ \t]*\[\[state\]\]`)

func stateLine(b []byte) int {
	if loc := stateHeader.FindIndex(b); loc != nil {
		return bytes.Count(b[:loc[0]], []byte("\n")) + 1
	}
	return 0
}

func registryLine(b []byte) int {
	if loc := registryHeader.FindIndex(b); loc != nil {
		return 1 + bytes.Count(b[:loc[0]], []byte("\n"))
	}
	return 1
}

func lineOf(b []byte, key string) int { return keyLine(b, toml.Key{key}) }

// validate checks everything a timeline needs; errors start with the line.
func (s *Scenario) validate(b []byte) error {
	switch {
	case s.ID == "":
		return fmt.Errorf("1: missing id")
	case s.Title == "":
		return fmt.Errorf("%d: missing title", lineOf(b, "id"))
	case !contains(Eras, s.Era):
		return fmt.Errorf("%d: era %q is not one of %s", lineOf(b, "era"), s.Era, strings.Join(Eras, ", "))
	case !contains(Diagnoses, s.Expect.Diagnosis):
		return fmt.Errorf("%d: expect.diagnosis %q is not a known diagnosis id", lineOf(b, "diagnosis"), s.Expect.Diagnosis)
	case s.Days < 1:
		return fmt.Errorf("%d: days must be at least 1", lineOf(b, "days"))
	case len(s.Noise.Hosts) == 0:
		return fmt.Errorf("%d: noise.hosts is empty", lineOf(b, "noise"))
	}
	for label := range s.Expect.Group {
		if !contains([]string{"host", "client", "user", "license_server"}, label) {
			return fmt.Errorf("%d: expect.group label %q is not host, client, user or license_server", lineOf(b, "group"), label)
		}
	}
	if tz := s.Noise.TimeZone; tz != "" && !timeZoneRE.MatchString(tz) {
		return fmt.Errorf("%d: noise.time_zone %q is not \"<bias minutes> <name>\" (e.g. \"300 Eastern Standard Time\")", lineOf(b, "time_zone"), tz)
	}
	for _, r := range s.Registry {
		if err := r.validate(s.Noise.Hosts); err != nil {
			return fmt.Errorf("%d: %w", registryLine(b), err)
		}
	}
	for _, st := range s.States {
		if err := st.validate(s.Noise.Hosts); err != nil {
			return fmt.Errorf("%d: %w", stateLine(b), err)
		}
	}
	for i := range s.Events {
		if err := s.Events[i].validate(); err != nil {
			return fmt.Errorf("%d: event %d: %w", s.Events[i].line, i+1, err)
		}
	}
	return nil
}

func (e *Event) validate() error {
	if _, ok := sources[e.Source]; !ok {
		return fmt.Errorf("unknown source %q (known: %s)", e.Source, strings.Join(sourceNames(), ", "))
	}
	if e.ID == 0 && e.Source != "licensing" {
		return errors.New("missing id")
	}
	if e.Host == "" {
		return errors.New("missing host")
	}
	for _, f := range []string{e.At, e.Every, e.Jitter} {
		if _, err := parseOffset(f); err != nil {
			return err
		}
	}
	if e.Count < 0 {
		return errors.New("count is negative")
	}
	if e.Count > 1 && e.Every == "" {
		return errors.New("count > 1 needs every")
	}
	for _, p := range e.Params {
		if err := checkPlaceholders(p); err != nil {
			return err
		}
	}
	return nil
}

func sourceNames() []string {
	var out []string
	for k := range sources {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Base is the file name without extension, for listing.
func (s Scenario) Base() string { return strings.TrimSuffix(path.Base(s.File), ".toml") }
