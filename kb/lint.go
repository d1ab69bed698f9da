package kb

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Lint lists what is wrong with an article beyond what Load rejects: legacy
// keys, steps without a phase, checks that change something, commands that
// would not paste, references no reader can follow, and the known-wrong
// paths and APIs of issue #18. The tests walk every article with it.
func Lint(a Article) []string {
	var p []string
	bad := func(f string, args ...any) { p = append(p, a.ID+": "+fmt.Sprintf(f, args...)) }
	for _, r := range a.References {
		if msg := badReference(r); msg != "" {
			bad("reference %q: %s", r.Title, msg)
		}
	}
	checks := map[string]bool{}
	for _, s := range a.Steps {
		if s.Phase == PhaseCheck {
			checks[s.ID] = true
		}
	}
	for _, s := range a.Steps {
		for _, msg := range lintStep(a, s, checks) {
			bad("step %s: %s", s.ID, msg)
		}
	}
	// The file reads in the order a report prints: every check before the
	// first change, so no change is written before the check deciding it.
	firstChange := ""
	for _, s := range a.Steps {
		switch {
		case s.Phase != PhaseCheck && firstChange == "":
			firstChange = s.ID
		case s.Phase == PhaseCheck && firstChange != "":
			bad("step %s: a check written after the change %s; write every check first", s.ID, firstChange)
		}
	}
	return p
}

var internalRef = regexp.MustCompile(`(?i)kb-reference|\bseed\b|\bSC-\d+|\.txt\b|\[[A-Z0-9-]+\]`)

func badReference(r Reference) string {
	switch {
	case strings.TrimSpace(r.Title) == "":
		return "no title"
	case internalRef.MatchString(r.Title) || internalRef.MatchString(r.URL):
		return "names an internal document (kb-reference, seed file, scenario key)"
	case !strings.HasPrefix(r.URL, "https://") || strings.ContainsAny(r.URL, " \t<>") || len(r.URL) < len("https://a.b/"):
		return "url must be a public https:// address"
	}
	return ""
}

// The list of known-wrong items, each a pattern over a step's text
// (title, detail, verify and every command) and the reason it is wrong.
var knownWrong = []struct {
	re  *regexp.Regexp
	why string
}{
	{regexp.MustCompile(`(?i)TermService\\Parameters"?\s+/v\s+SpecifiedLicenseServers`),
		`SpecifiedLicenseServers lives under ...\TermService\Parameters\LicenseServers`},
	{regexp.MustCompile(`PingLicenseServer`), "PingLicenseServer is no longer available as of Windows Server 2008 R2"},
	{regexp.MustCompile(`GetTStoLSConnectivityStatus\(\s*\)`), "GetTStoLSConnectivityStatus takes the license server name"},
	{regexp.MustCompile(`\b1, 2 or 9\b|\b1, 2, or 9\b`), "success is any LS_CONNECTABLE_VALID_* value (1, 2, 9 and 11 on 2012 and later)"},
	{regexp.MustCompile(`ChangeMode\(\s*\d`), "a hard-coded ChangeMode value: use <mode>, set from the evidence or the CALs bought"},
	{regexp.MustCompile(`(?i)LicensingMode\b[^|&;]*?/d\s+\d`), "a hard-coded LicensingMode value: use <mode>"},
	{regexp.MustCompile(`(?i)-(Licensing)?Mode\s+Per(User|Device)\b`), "a hard-coded licensing mode"},
	{regexp.MustCompile(`(?i)\b180[ -]days?\b`), "the grace period is 120 days in every message table"},
	{regexp.MustCompile(`(?i)^\s*(powershell|pwsh|cmd|ps)\s*[:>]`), "shell prefix inside a command"},
	// <mode> is filled from the finding: "Replace <mode> with 2" then reads
	// "Replace 4 with 2" beside a command that says 4.
	{regexp.MustCompile(`(?i)\breplace\s+<mode>\s+with|<mode>\s+(is|=)\s+\d`), "reads wrong once <mode> is filled (\"Replace 4 with 2\"): say what the value in the command must be"},
}

var (
	restartRE     = regexp.MustCompile(`(?i)net\s+stop\s+(termservice|"?remote desktop services"?)|restart-service\b[^;|]*termservice|stop-service\b[^;|]*termservice|shutdown(\.exe)?\s+[^;|&]*/r\b|restart-computer`)
	drainRE       = regexp.MustCompile(`(?i)(chglogon|change\s+logon)\s+/drain\b`)
	mutatingRE    = regexp.MustCompile(`(?i)^\s*reg\s+(add|delete|import|copy)\b|^\s*(net\s+(stop|start)|sc(\.exe)?\s+(config|stop|start|delete)|shutdown|gpupdate)\b|\b(Set|Remove|Stop|Start|Restart|Install|Uninstall|New|Add|Clear|Rename|Disable|Enable)-[A-Za-z]+|Invoke-(Wmi|Cim)Method|\.(Set|Change|Remove|Delete|Reactivate|Activate|Uninstall|Install)[A-Za-z]*\(|\bchglogon\b|\bchange\s+logon\s+/(drain|disable|enable)|\bcopy\b|\bdel\b|\bmove\b|Rename-Item`)
	tsComputersRE = regexp.MustCompile(`(?i)Terminal Server Computers`)
	oldMenuRE     = regexp.MustCompile(`(?i)Tools\s*(→|->|>)\s*Terminal Services`)
	rcmCertRE     = regexp.MustCompile(`(?i)Control\\Terminal Server\\RCM`)
	oldCertRE     = regexp.MustCompile(`(?i)TermService\\Parameters"?\s+/v\s+"?(X509|Certificate)`)
	certValueRE   = regexp.MustCompile(`(?i)X509 Certificate|/v\s+"?Certificate"?`)
	modernToolRE  = regexp.MustCompile(`(?i)Server Manager|RD Licensing Diagnoser|Deployment Properties|Install-WindowsFeature|root\\cimv2\\terminalservices`)
	defaultLSRE   = regexp.MustCompile(`(?i)DefaultLicenseServer`)
	edbCopyRE     = regexp.MustCompile(`(?i)(copy|xcopy|robocopy|Copy-Item)\b.*(TLSLic|LServer)`)
	stopLSRE      = regexp.MustCompile(`(?i)(net\s+stop|Stop-Service)\s+[^;|&]*TermServLicensing`)
	// A list holding only the placeholder: SetSpecifiedLicenseServerList
	// replaces the whole list, so it is left with nothing but that server.
	onlyLSRE = regexp.MustCompile(`(?i)SetSpecifiedLicenseServerList\(\s*@\(\s*['"]<license-server>['"]\s*\)\s*\)|AddLSToSpecifiedLicenseServerList\(\s*['"]<license-server>['"]|(LicenseServers|DefaultLicenseServer)\b[^;|&]*/d\s+"?<license-server>`)
)

// failingServer: the diagnoses whose <license-server> is the server at
// fault (the one the host cannot reach, waits for, or is pinned to), so a
// fix must never point the host at it alone.
var failingServer = map[string]bool{
	"license-server-unreachable": true,
	"licensing-timed-out":        true,
	"license-server-pinned":      true,
}

func lintStep(a Article, s Step, checks map[string]bool) []string {
	var p []string
	bad := func(f string, args ...any) { p = append(p, fmt.Sprintf(f, args...)) }
	switch s.Phase {
	case PhaseCheck, PhaseFix, PhaseLastResort:
	default:
		bad("phase %q is not check, fix or last-resort", s.Phase)
	}
	all := slices.Concat(s.Backup, s.Commands, s.VerifyCommands)
	for _, c := range all {
		if c.Shell != "cmd" && c.Shell != "powershell" {
			bad("command %q: shell %q is not cmd or powershell", c.Run, c.Shell)
		}
		if c.Shell == "cmd" && regexp.MustCompile(`\b(Get|Set)-[A-Z][A-Za-z]+|\$[A-Za-z_]`).MatchString(c.Run) {
			bad("command %q is PowerShell but labelled cmd", c.Run)
		}
		if strings.ContainsAny(c.Run, "\r\n") || strings.TrimSpace(c.Run) == "" {
			bad("command %q must be one non-empty line", c.Run)
		}
	}
	texts := []string{s.Title, s.Detail, s.Verify, s.Decides}
	for _, c := range all {
		texts = append(texts, c.Run)
	}
	for _, t := range texts {
		for _, name := range placeholdersIn(t) {
			if !slices.Contains(PlaceholderNames, name) {
				bad("placeholder <%s> is not one of <%s>", name, strings.Join(PlaceholderNames, ">, <"))
			}
		}
		for _, w := range knownWrong {
			if w.re.MatchString(t) {
				bad("%s (in %q)", w.why, clip(t))
			}
		}
	}
	eras := s.Windows
	if len(eras) == 0 {
		eras = a.Windows
	}
	modern := slices.ContainsFunc(eras, func(e string) bool { return slices.Index(Eras, e) >= slices.Index(Eras, "2012") })
	classic := slices.Contains(eras, "2000") || slices.Contains(eras, "2003")
	newer := slices.ContainsFunc(eras, func(e string) bool { return slices.Index(Eras, e) >= slices.Index(Eras, "2008") })
	post2000 := slices.ContainsFunc(eras, func(e string) bool { return e != "2000" })
	for _, t := range texts {
		if modern && tsComputersRE.MatchString(t) {
			bad(`names "Terminal Server Computers" for 2012 or later (the group is "RDS Endpoint Servers"): limit windows`)
		}
		if modern && oldMenuRE.MatchString(t) {
			bad("asserts Tools → Terminal Services for 2012+; the folder (Tools → Remote Desktop Services or Terminal Services) is unconfirmed: say so")
		}
		if classic && rcmCertRE.MatchString(t) && certValueRE.MatchString(t) {
			bad(`the 2000/2003 certificate values live under Services\TermService\Parameters, not Control\Terminal Server\RCM: limit windows`)
		}
		if newer && oldCertRE.MatchString(t) {
			bad(`from 2008 the certificate values live under Control\Terminal Server\RCM: limit windows`)
		}
		if classic && modernToolRE.MatchString(t) {
			bad("Server Manager, the RD Licensing Diagnoser, deployment properties and the terminalservices WMI namespace are not on 2000/2003: limit windows")
		}
	}
	for _, c := range all {
		if post2000 && defaultLSRE.MatchString(c.Run) {
			bad("DefaultLicenseServer is the Windows 2000 mechanism (2003 uses the LicenseServers key): limit windows to 2000")
		}
	}
	if s.Decides != "" && strings.Contains(s.Detail, "Decides:") {
		bad("the detail repeats what decides says (it is printed under its own label)")
	}
	for _, c := range s.Commands {
		if failingServer[a.ID] && s.Phase != PhaseCheck && onlyLSRE.MatchString(c.Run) {
			bad("points the host at <license-server> alone, the server at fault in this diagnosis: ask for the working one (%q)", clip(c.Run))
		}
	}
	restarts := false
	for _, c := range s.Commands {
		if restartRE.MatchString(c.Run) {
			restarts = true
		}
	}
	if restarts && s.Where == "session-host" && !s.DisconnectsUsers {
		bad("restarts Remote Desktop Services or reboots the host: set disconnects_users and drain first")
	}
	if s.DisconnectsUsers {
		if len(s.Commands) == 0 || !drainRE.MatchString(s.Commands[0].Run) {
			bad("disconnects users: the first command must drain the host (change logon /drain)")
		}
		if !strings.Contains(strings.ToLower(s.Detail+s.Title), "disconnect") {
			bad("disconnects users: the detail must say so")
		}
	}
	stopped := false
	for _, c := range slices.Concat(s.Backup, s.Commands) {
		if stopLSRE.MatchString(c.Run) {
			stopped = true
		}
		if edbCopyRE.MatchString(c.Run) && !stopped {
			bad("copies the license database while TermServLicensing holds it open: stop the service first")
		}
	}
	for _, c := range s.Backup {
		if strings.Contains(c.Run, "Export-Clixml") {
			bad("Export-Clixml records objects; it is no backup that can be restored")
		}
	}
	if s.Risk == "destructive" && len(s.Backup) == 0 {
		bad("destructive without a backup")
	}
	for _, c := range s.Commands {
		if regexp.MustCompile(`(?i)^\s*reg\s+delete`).MatchString(c.Run) && !slices.ContainsFunc(s.Backup, func(b Command) bool {
			return regexp.MustCompile(`(?i)^\s*reg\s+export`).MatchString(b.Run)
		}) {
			bad("reg delete without a reg export backup")
		}
	}
	if s.Phase == PhaseCheck {
		if s.Decides == "" {
			bad("a check must say what its result decides (decides)")
		}
		if s.Risk != "safe" || len(s.Backup) > 0 || s.DisconnectsUsers {
			bad("a check is read-only: risk safe, no backup, disconnects nobody")
		}
		for _, c := range s.Commands {
			if mutatingRE.MatchString(c.Run) {
				bad("a check must not change anything: %q", c.Run)
			}
		}
		if len(s.After) > 0 {
			bad("checks come first; after is for fixes")
		}
	} else if s.Decides != "" {
		bad("decides is for checks")
	}
	for _, id := range s.After {
		if !checks[id] {
			bad("after names %q, which is no check of this article", id)
		}
	}
	return p
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 90 {
		return s[:90] + "…"
	}
	return s
}
