// Package kb holds the licensing knowledge base: one article per diagnosis,
// with remediation steps that are ranked against a finding's evidence.
package kb

// Article explains one diagnosis and how to fix it.
type Article struct {
	ID         string      `toml:"id" json:"id"`
	Title      string      `toml:"title" json:"title"`
	Summary    string      `toml:"summary" json:"summary"`
	Cause      string      `toml:"cause" json:"cause"`
	Windows    []string    `toml:"windows" json:"windows"`
	LookAlikes []LookAlike `toml:"look_alike" json:"look_alikes"`
	Steps      []Step      `toml:"step" json:"steps"`
	References []string    `toml:"references" json:"references"`
}

// LookAlike names a diagnosis that shows similar events and how the rules
// tell the two apart.
type LookAlike struct {
	ID        string `toml:"id" json:"id"`
	TellApart string `toml:"tell_apart" json:"tell_apart"`
}

// Step is one remediation step.
type Step struct {
	ID         string   `toml:"id" json:"id"`
	Title      string   `toml:"title" json:"title"`
	Detail     string   `toml:"detail" json:"detail"`
	Risk       string   `toml:"risk" json:"risk"`   // safe, caution, destructive
	Where      string   `toml:"where" json:"where"` // client, session-host, license-server, domain
	Commands   []string `toml:"commands" json:"commands"`
	Backup     []string `toml:"backup" json:"backup,omitempty"` // commands to run first
	Verify     string   `toml:"verify" json:"verify"`
	Likelihood float64  `toml:"likelihood" json:"likelihood"` // 0..1 prior that this step fixes the case
	LastResort bool     `toml:"last_resort" json:"last_resort"`
	// Boost is an expr condition over the finding (facts, count, group…);
	// when true the step's likelihood is raised by BoostBy.
	Boost   string  `toml:"boost_when" json:"boost_when,omitempty"`
	BoostBy float64 `toml:"boost_by" json:"boost_by,omitempty"`
	// BoostWhy says in plain words what the boost condition saw; shown in
	// reports as the reason a step moved up.
	BoostWhy string `toml:"boost_why" json:"boost_why,omitempty"`
}
