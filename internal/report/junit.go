package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// JUnit XML: one <testsuite> per input named on the command line, one
// <testcase> per incident seen in it, and one passing case per diagnosis
// that ran and found nothing there. The verdict is the exit code's: an
// incident at or above --fail-on is a <failure>; one below it (or any with
// --fail-on none) is a passing case whose details are in its <system-out>,
// so a CI test tab never shows red where the job is green. A suppressed
// finding is <skipped> with the reason. An unreadable input is an <error>
// on a testcase named "read", so the suite is never silently green.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
	SystemOut string      `xml:"system-out,omitempty"` // warnings, e.g. events the time window set aside
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit renders the JUnit XML report.
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: "tsdiag", Time: fmt.Sprintf("%.3f", r.Duration.Seconds())}
	for _, in := range r.Inputs {
		s := junitSuiteFor(r, in)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteFor(r *Report, input string) junitSuite {
	s := junitSuite{Name: input}
	if !r.Now.IsZero() {
		s.Timestamp = r.Now.UTC().Format("2006-01-02T15:04:05")
	}
	for _, u := range r.Stats.Unreadable {
		if under(u.File, input) {
			s.Cases = append(s.Cases, junitCase{Name: "read " + u.File, Classname: input,
				Error: &junitProblem{Message: u.Reason, Type: "unreadable", Text: fmt.Sprintf("%s at offset %d: %s", u.File, u.Offset, u.Reason)}})
			s.Errors++
		}
	}
	junitWindow(r, input, &s)
	seen := map[string]bool{}
	for _, it := range r.Findings {
		if evidenceUnder(it.Evidence, input) {
			seen[it.ID] = true
			s.Cases = append(s.Cases, incidentCase(r, it, input, &s))
		}
	}
	for _, sp := range r.Suppressed {
		if evidenceUnder(sp.Finding.Evidence, input) {
			seen[sp.Finding.ID] = true
			s.Cases = append(s.Cases, junitCase{Name: caseName(sp.Finding.Key, sp.Finding.ID, sp.Finding.Host), Classname: input,
				Skipped: &junitProblem{Message: fmt.Sprintf("suppressed: %s, until %s (%s)", sp.By.Reason, sp.By.ExpiresText(), source(sp.By.File, sp.By.Line))}})
			s.Skipped++
		}
	}
	for _, d := range diagnosesRun(r.Rules) {
		if !seen[d] {
			s.Cases = append(s.Cases, junitCase{Name: d, Classname: input})
		}
	}
	s.Tests = len(s.Cases)
	return s
}

// incidentCase judges one incident by the report's --fail-on.
func incidentCase(r *Report, it Item, input string, s *junitSuite) junitCase {
	c := junitCase{Name: caseName(it.Key, it.ID, it.Host), Classname: input}
	text := findingLine(it)
	if it.Status == "resolved" || it.Status == "transient" {
		text += "\n" + statusNote(it.Finding)
	}
	if it.CausedBy != "" {
		text += "\nsymptom of " + it.CausedBy + ": fix that first"
	}
	if len(it.Symptoms) > 0 {
		text += "\nsymptoms: " + strings.Join(it.Symptoms, ", ")
	}
	if r.FailOn != "" && AtLeast(it.Severity, r.FailOn) {
		c.Failure = &junitProblem{Message: fmt.Sprintf("%s: %s (%s)", it.ID, it.Title, it.Severity), Type: it.Severity, Text: text}
		s.Failures++
		return c
	}
	c.SystemOut = text + "\n" + belowFailOn(it.Severity, r.FailOn)
	return c
}

func belowFailOn(sev, failOn string) string {
	if failOn == "" || failOn == "none" {
		return "passes: --fail-on none"
	}
	return fmt.Sprintf("passes: %s is below --fail-on %s", sev, failOn)
}

func caseName(key, id, host string) string {
	if key != "" {
		return key
	}
	if host != "" {
		return id + "@" + host
	}
	return id
}

// diagnosesRun lists each diagnosis of the rules that ran, once, in order.
func diagnosesRun(rs []RuleRef) []string {
	var out []string
	seen := map[string]bool{}
	for _, ru := range rs {
		d := ru.Diagnosis
		if d == "" {
			d = ru.ID
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

func findingLine(it Item) string {
	f := it.Finding
	line := fmt.Sprintf("#%d %s %s for %s: %s, %s to %s", f.Rank, strings.ToUpper(f.Severity), f.ID, groupOrAll(f),
		plural(f.Count, "event"), stamp(f.FirstSeen), stamp(f.LastSeen))
	if facts := factsText(f.Facts); facts != "" {
		line += "; " + facts
	}
	if len(it.Steps) > 0 {
		line += "; first step: " + it.Steps[0].Title
	}
	return line
}

func evidenceUnder(ev []Evidence, input string) bool {
	for _, e := range ev {
		if under(e.File, input) {
			return true
		}
	}
	return false
}

// under tells whether file (as the walker names it) came from input: the
// input itself, a file in that directory, or a member of that archive.
func under(file, input string) bool {
	if file == input {
		return true
	}
	clean := filepath.Clean(input)
	for _, sep := range []string{string(filepath.Separator), "/", "!"} {
		if strings.HasPrefix(file, clean+sep) || strings.HasPrefix(file, input+sep) {
			return true
		}
	}
	return input == "-" && strings.HasPrefix(file, "<stdin>")
}

// junitWindow puts the report's warnings in the suite's system-out; a
// window that set aside every licensing event is also an <error> case
// "time window", so the suite is not green when nothing was diagnosed.
func junitWindow(r *Report, input string, s *junitSuite) {
	s.SystemOut = strings.Join(r.Warnings(), "\n")
	if r.Window.AllSetAside() {
		s.Cases = append(s.Cases, junitCase{Name: "time window", Classname: input,
			Error: &junitProblem{Message: "nothing diagnosed", Type: "empty-window", Text: r.Window.Note()}})
		s.Errors++
	}
}
