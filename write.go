package tsdiag

import (
	"fmt"
	"io"
	"time"

	"github.com/tsdiag/tsdiag/internal/report"
)

// Formats are the names Write accepts.
var Formats = report.Formats

// Write renders rep in format: text, json (the versioned schema, Schema),
// sarif (2.1.0), junit, html or markdown.
func Write(w io.Writer, rep *Report, format string, opts WriteOptions) error {
	return report.Write(w, rep, format, opts)
}

// Schema is the JSON Schema of the json format and of the JSON lines
// WriteChange writes; SchemaVersion is its version.
var Schema = report.JSONSchema

// SchemaVersion is the version of Schema.
const SchemaVersion = report.SchemaVersion

// Exit codes of Verdict, the CLI's.
const (
	ExitOK       = 0 // the job was done and nothing reached FailOn
	ExitFindings = 1 // a finding at or above FailOn
	ExitError    = 2 // the job was not done: an input unreadable, or the window set aside every licensing event
)

// Verdict is how a scan ends for a CI job.
type Verdict struct {
	Code    int    // ExitOK, ExitFindings or ExitError
	Reason  string // why Code is not ExitOK, one line
	Failing []Item // findings at or above FailOn
}

// Verdict judges rep as `tsdiag scan` does for its exit code: 2 when an
// input could not be read or the time window set aside every licensing
// event (a scan that diagnosed nothing must not pass), unless KeepGoing;
// else 1 when a finding is at or above FailOn; else 0.
func (d *Diagnoser) Verdict(rep *Report) Verdict {
	v := Verdict{Failing: rep.Failing()}
	switch {
	case rep.Incomplete() && !d.cfg.KeepGoing:
		v.Code = ExitError
		v.Reason = "scan incomplete: " + rep.IncompleteReason() + " (--keep-going to accept)"
	case rep.Window.AllSetAside() && !d.cfg.KeepGoing:
		v.Code = ExitError
		v.Reason = fmt.Sprintf("nothing diagnosed: %s (widen --since/--until, or --keep-going to accept)", rep.Window.Note())
	case len(v.Failing) > 0:
		v.Code = ExitFindings
		v.Reason = fmt.Sprintf("%d finding(s) at or above --fail-on %s; the first: %s (%s)",
			len(v.Failing), rep.FailOn, v.Failing[0].ID, v.Failing[0].Severity)
	}
	return v
}

// Change is one line of a stream's output: a finding that appeared
// ("new") or changed ("updated").
type Change struct {
	Kind   string                     // new or updated
	Time   time.Time                  // wall time of the change
	Item   Item                       // the finding, with its article and steps
	Config map[string]LicensingConfig // licensing configuration by host; nil when none was read
}

// WriteChange writes c as one JSON line: {"type":"finding","change":…,
// "time":…,"finding":…}, the finding in the shape of the json report's
// findings (Schema, $defs/finding_line).
func WriteChange(w io.Writer, c Change) error {
	return report.WriteFindingLine(w, c.Kind, c.Time, c.Item, c.Config)
}

// WriteConfigLine writes the licensing configuration as one JSON line,
// {"type":"config",…}, the first line of watch and live.
func WriteConfigLine(w io.Writer, at time.Time, cfg map[string]LicensingConfig) error {
	return report.WriteConfigLine(w, at, cfg)
}
