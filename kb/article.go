// Package kb holds the licensing knowledge base: one article per diagnosis,
// with remediation steps that are ranked against a finding's evidence.
//
// This is one stage of the pipeline. To diagnose logs as `tsdiag scan` does,
// start at the root package, github.com/tsdiag/tsdiag: New, then
// Diagnoser.Scan; its report carries each finding's article and steps.
package kb

import "fmt"

// Article explains one diagnosis and how to fix it. The file format is
// described in kb/SCHEMA.md.
type Article struct {
	ID         string      `toml:"id" json:"id"`
	Title      string      `toml:"title" json:"title"`
	Summary    string      `toml:"summary" json:"summary"`
	Cause      string      `toml:"cause" json:"cause"`
	Windows    []string    `toml:"windows" json:"windows"` // era tokens (Eras)
	LookAlikes []LookAlike `toml:"look_alike" json:"look_alikes"`
	Steps      []Step      `toml:"step" json:"steps"`
	References []Reference `toml:"reference" json:"references"`
}

// Reference is a public source a reader can follow.
type Reference struct {
	Title string `toml:"title" json:"title"`
	URL   string `toml:"url" json:"url"`
}

// LookAlike names a diagnosis that shows similar events and how the rules
// tell the two apart.
type LookAlike struct {
	ID        string `toml:"id" json:"id"`
	TellApart string `toml:"tell_apart" json:"tell_apart"`
}

// Command is one command line an administrator pastes into one shell.
type Command struct {
	Shell string `toml:"shell" json:"shell"` // cmd or powershell
	Run   string `toml:"run" json:"run"`
}

// Phases of a remediation: read-only checks come first and decide which
// fix applies; last-resort steps come after every fix.
const (
	PhaseCheck      = "check"
	PhaseFix        = "fix"
	PhaseLastResort = "last-resort"
)

// Step is one remediation step.
type Step struct {
	ID      string   `toml:"id" json:"id"`
	Title   string   `toml:"title" json:"title"`
	Phase   string   `toml:"phase" json:"phase"`               // check, fix, last-resort
	Decides string   `toml:"decides" json:"decides,omitempty"` // checks: what their result decides
	After   []string `toml:"after" json:"after,omitempty"`     // ids of the checks that decide this step
	Windows []string `toml:"windows" json:"windows,omitempty"` // eras the step applies to; empty = all of the article's
	Detail  string   `toml:"detail" json:"detail"`
	Risk    string   `toml:"risk" json:"risk"`   // safe, caution, destructive
	Where   string   `toml:"where" json:"where"` // client, session-host, license-server, domain
	// DisconnectsUsers marks a step that restarts Remote Desktop Services or
	// reboots a session host; such a step drains the host first.
	DisconnectsUsers bool        `toml:"disconnects_users" json:"disconnects_users,omitempty"`
	Backup           CommandList `toml:"backup" json:"backup,omitempty"` // run before the commands
	Commands         CommandList `toml:"command" json:"commands,omitempty"`
	Verify           string      `toml:"verify" json:"verify"`
	VerifyCommands   CommandList `toml:"verify_command" json:"verify_commands,omitempty"`
	Likelihood       float64     `toml:"likelihood" json:"likelihood"` // 0..1 prior that this step fixes the case
	// Boost is an expr condition over the finding (facts, count, group…);
	// when true the step's likelihood is raised by BoostBy.
	Boost   string  `toml:"boost_when" json:"boost_when,omitempty"`
	BoostBy float64 `toml:"boost_by" json:"boost_by,omitempty"`
	// BoostWhy says in plain words what the boost condition saw; shown in
	// reports as the reason a step moved up.
	BoostWhy string `toml:"boost_why" json:"boost_why,omitempty"`
}

// LastResort tells whether the step comes after every fix.
func (s Step) LastResort() bool { return s.Phase == PhaseLastResort }

// CommandList is a step's commands: [[step.command]]-style tables with
// shell and run only.
type CommandList []Command

// UnmarshalTOML reads the tables and rejects anything else, so a plain
// string (the schema before issue #18) or a stray key names the file.
func (l *CommandList) UnmarshalTOML(data any) error {
	tables, ok := data.([]map[string]any)
	if !ok {
		return fmt.Errorf("commands are [[…]] tables with shell and run, not %T", data)
	}
	out := make(CommandList, 0, len(tables))
	for _, m := range tables {
		c, err := commandOf(m)
		if err != nil {
			return err
		}
		out = append(out, c)
	}
	*l = out
	return nil
}

func commandOf(m map[string]any) (Command, error) {
	var c Command
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return c, fmt.Errorf("command %s must be a string", k)
		}
		switch k {
		case "shell":
			c.Shell = s
		case "run":
			c.Run = s
		default:
			return c, fmt.Errorf("command: unknown key %q (shell and run only)", k)
		}
	}
	return c, nil
}

// Lines returns the command lines alone (the JSON report lists them so).
func Lines(cmds []Command) []string {
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, c.Run)
	}
	return out
}
