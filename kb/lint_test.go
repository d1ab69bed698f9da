package kb

import (
	"strings"
	"testing"
	"testing/fstest"
)

// article wraps one [[step]] body in a minimal valid article and loads it
// through the real TOML decoder.
func lintArticle(t *testing.T, windows, step string) Article {
	t.Helper()
	text := `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = [` + windows + `]
[[reference]]
title = "Public page"
url = "https://learn.microsoft.com/x"
[[look_alike]]
id = "y"
tell_apart = "z"
[[step]]
id = "a"
title = "t"
likelihood = 0.5
`
	head, tables, _ := strings.Cut(step, "\n[[")
	if tables != "" {
		tables = "\n[[" + tables
	}
	for _, k := range []string{"detail", "verify"} {
		if !strings.Contains(head, k+" =") {
			head += "\n" + k + ` = "` + k[:1] + `"`
		}
	}
	text += head + tables
	b, err := LoadFS(fstest.MapFS{"a/x.toml": {Data: []byte(text)}}, "a")
	if err != nil {
		t.Fatalf("load: %v\n%s", err, text)
	}
	a, _ := b.Get("x")
	return a
}

// A change written before the check that decides it fails, even though
// the ranking would move the check up.
func TestLintCatchesChangeBeforeCheck(t *testing.T) {
	a := lintArticle(t, `"2016"`, `phase = "fix"
risk = "safe"
where = "client"
[[step]]
id = "look"
title = "t"
detail = "d"
verify = "v"
phase = "check"
decides = "which fix"
risk = "safe"
where = "client"`)
	if got := strings.Join(Lint(a), "\n"); !strings.Contains(got, "a check written after the change a") {
		t.Errorf("want the order problem, got:\n%s", got)
	}
}

func TestLintCatchesKnownWrong(t *testing.T) {
	const all = `"2003", "2008r2", "2012", "2016", "2019"`
	cases := []struct {
		name, windows, step, want string
	}{
		{"wrong registry path", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "cmd"
run = 'reg add "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters" /v SpecifiedLicenseServers /t REG_MULTI_SZ /d "<license-server>"'`, `\LicenseServers`},
		{"PingLicenseServer", `"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "powershell"
run = '(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).PingLicenseServer("<license-server>")'`, "PingLicenseServer"},
		{"connectivity without a name", `"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "powershell"
run = '(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).GetTStoLSConnectivityStatus()'`, "takes the license server name"},
		{"1, 2 or 9", `"2016"`, `phase = "fix"
risk = "safe"
where = "session-host"
verify = "returns 1, 2 or 9"`, "LS_CONNECTABLE_VALID"},
		{"hard-coded ChangeMode", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "powershell"
run = '(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).ChangeMode(2)'`, "ChangeMode"},
		{"hard-coded LicensingMode", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "cmd"
run = 'reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core" /v LicensingMode /t REG_DWORD /d 4 /f'`, "LicensingMode"},
		{"Terminal Server Computers on 2016", `"2016"`, `phase = "fix"
risk = "caution"
where = "license-server"
detail = "Add the host to the Terminal Server Computers group."`, "RDS Endpoint Servers"},
		{"old Diagnoser path on 2012", `"2012"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
detail = "Server Manager → Tools → Terminal Services → RD Licensing Diagnoser"`, "Tools → Remote Desktop Services"},
		{"RCM certificate path on 2003", `"2003", "2008r2"`, `phase = "fix"
risk = "destructive"
where = "session-host"
[[step.backup]]
shell = "cmd"
run = 'reg export "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM" rcm.reg'
[[step.command]]
shell = "cmd"
run = 'reg delete "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM" /v "X509 Certificate" /f'`, "2000/2003 certificate values"},
		{"Diagnoser for 2003", `"2003"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
detail = "Open Server Manager and run the RD Licensing Diagnoser."`, "not on 2000/2003"},
		{"shell prefix", `"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "powershell"
run = "PowerShell: Get-Service TermService"`, "shell prefix"},
		{"PowerShell labelled cmd", `"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "cmd"
run = "Get-Service TermService"`, "labelled cmd"},
		{"foreign placeholder", `"2016"`, `phase = "fix"
risk = "safe"
where = "client"
[[step.command]]
shell = "cmd"
run = "mstsc /v:<Server> /admin"`, "placeholder <Server>"},
		{"check that changes", `"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "cmd"
run = "net stop TermService"`, "must not change anything"},
		{"check without decides", `"2016"`, `phase = "check"
risk = "safe"
where = "session-host"`, "decides"},
		{"restart without drain", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "cmd"
run = "shutdown /r /t 0"`, "disconnects_users"},
		{"drain not first", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
disconnects_users = true
detail = "disconnects every user"
[[step.command]]
shell = "powershell"
run = "Restart-Service -Name TermService -Force"`, "must drain"},
		{"Export-Clixml backup", `"2016"`, `phase = "fix"
risk = "destructive"
where = "license-server"
[[step.backup]]
shell = "powershell"
run = "Get-WmiObject Win32_TSLicenseKeyPack | Export-Clixml k.xml"`, "Export-Clixml"},
		{"database copied while open", `"2016"`, `phase = "fix"
risk = "caution"
where = "license-server"
[[step.command]]
shell = "cmd"
run = 'copy "C:\Windows\System32\lserver\TLSLic.edb" D:\backup\'`, "stop the service first"},
		{"after names a fix", `"2016"`, `phase = "fix"
after = ["a"]
risk = "safe"
where = "client"`, "no check"},
		{"180 days", all, `phase = "fix"
risk = "safe"
where = "session-host"
detail = "The grace period lasts 180 days."`, "120 days"},
		{"Replace <mode> with", `"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
detail = "Replace <mode> with 2 (Per Device)."`, "reads wrong once <mode> is filled"},
		{"DefaultLicenseServer for 2003", `"2003"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "cmd"
run = 'reg add "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters" /v DefaultLicenseServer /t REG_SZ /d <license-server>'`, "Windows 2000 mechanism"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(Lint(lintArticle(t, c.windows, c.step)), "\n")
			if !strings.Contains(got, c.want) {
				t.Errorf("want a problem mentioning %q, got:\n%s", c.want, got)
			}
		})
	}
}

// The traps: right commands for the right versions pass.
func TestLintPassesCorrectSteps(t *testing.T) {
	cases := map[string]struct{ windows, step string }{
		"specified list under LicenseServers": {`"2016"`, `phase = "check"
decides = "d"
risk = "safe"
where = "session-host"
[[step.command]]
shell = "cmd"
run = 'reg query "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers" /v SpecifiedLicenseServers'
[[step.command]]
shell = "powershell"
run = '(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).GetTStoLSConnectivityStatus("<license-server>").TStoLSConnectivityStatus'`},
		"mode from the evidence": {`"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "powershell"
run = '(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).ChangeMode(<mode>)'`},
		"Terminal Server Computers on 2008 R2 only": {`"2008r2", "2016"`, `phase = "fix"
windows = ["2008r2"]
risk = "caution"
where = "license-server"
detail = "Add the host to the Terminal Server Computers group."`},
		"drained restart": {`"2016"`, `phase = "fix"
risk = "caution"
where = "session-host"
disconnects_users = true
detail = "Restarting disconnects every user."
[[step.command]]
shell = "cmd"
run = "change logon /drain"
[[step.command]]
shell = "powershell"
run = "Restart-Service -Name TermService -Force"`},
		"2003 certificate path": {`"2003"`, `phase = "fix"
risk = "destructive"
where = "session-host"
[[step.backup]]
shell = "cmd"
run = 'reg export "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters" tsparams.reg'
[[step.command]]
shell = "cmd"
run = 'reg delete "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters" /v "X509 Certificate" /f'`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if p := Lint(lintArticle(t, c.windows, c.step)); len(p) > 0 {
				t.Errorf("a correct step was rejected:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// The schema before issue #18 no longer loads, and the error names the
// file; an internal document as a reference fails the lint.
func TestLegacyArticleRejectedAndInternalReferenceLinted(t *testing.T) {
	legacy := `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["2016"]
references = ["kb-reference SC-03"]
[[step]]
id = "a"
title = "t"
detail = "d"
verify = "v"
risk = "safe"
where = "session-host"
commands = ["PowerShell: Get-Service TermService"]
`
	if _, err := LoadFS(fstest.MapFS{"a/x.toml": {Data: []byte(legacy)}}, "a"); err == nil || !strings.Contains(err.Error(), "a/x.toml") {
		t.Errorf("a legacy article must be refused naming its file, got %v", err)
	}
	a := lintArticle(t, `"2016"`, "phase = \"fix\"\nrisk = \"safe\"\nwhere = \"client\"")
	a.References = append(a.References, Reference{Title: "kb-reference SC-03", URL: "https://example.org/x"},
		Reference{Title: "Event ID 90 (technet ee907321)"})
	got := strings.Join(Lint(a), "\n")
	for _, want := range []string{"internal document", "url must be"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
}

func TestNewSchemaRejectsBadValues(t *testing.T) {
	base := `id = "x"
title = "t"
summary = "s"
cause = "c"
windows = ["2016"]
[[reference]]
title = "p"
url = "https://learn.microsoft.com/x"
[[step]]
id = "a"
title = "t"
detail = "d"
verify = "v"
risk = "safe"
where = "session-host"
`
	cases := map[string]string{
		"no phase":         "",
		"bad phase":        `phase = "maybe"`,
		"bad era":          "phase = \"fix\"\nwindows = [\"2017\"]",
		"bad shell":        "phase = \"fix\"\n[[step.command]]\nshell = \"bash\"\nrun = \"ls\"",
		"unknown cmd key":  "phase = \"fix\"\n[[step.command]]\nshell = \"cmd\"\nrun = \"ver\"\nsudo = \"yes\"",
		"reference no url": "phase = \"fix\"\n[[reference]]\ntitle = \"t\"",
	}
	for name, extra := range cases {
		fsys := fstest.MapFS{"a/x.toml": {Data: []byte(base + extra)}}
		if _, err := LoadFS(fsys, "a"); err == nil || !strings.Contains(err.Error(), "a/x.toml") {
			t.Errorf("%s: want an error naming the file, got %v", name, err)
		}
	}
}

// TestLintCatchesListOfTheFailingServer: where <license-server> is the
// server at fault, a fix that makes it the whole list is refused; the same
// command is right where the placeholder is the server to add, and asking
// for the working server passes.
func TestLintCatchesListOfTheFailingServer(t *testing.T) {
	const setOnly = `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "powershell"
run = "$ts = Get-WmiObject -Namespace root\\cimv2\\terminalservices -Class Win32_TerminalServiceSetting; $ts.SetSpecifiedLicenseServerList(@('<license-server>'))"`
	const asks = `phase = "fix"
risk = "caution"
where = "session-host"
[[step.command]]
shell = "powershell"
run = "$near = Read-Host 'FQDN'; $ts = Get-WmiObject -Namespace root\\cimv2\\terminalservices -Class Win32_TerminalServiceSetting; $ts.SetSpecifiedLicenseServerList(@($near, '<license-server>'))"`
	lint := func(id, step string) string {
		a := lintArticle(t, `"2016"`, step)
		a.ID = id
		return strings.Join(Lint(a), "\n")
	}
	for _, id := range []string{"licensing-timed-out", "license-server-unreachable", "license-server-pinned"} {
		if got := lint(id, setOnly); !strings.Contains(got, "server at fault") {
			t.Errorf("%s: want the failing-server problem, got:\n%s", id, got)
		}
		if got := lint(id, asks); strings.Contains(got, "server at fault") {
			t.Errorf("%s: asking for the working server is right, got:\n%s", id, got)
		}
	}
	if got := lint("no-license-server", setOnly); strings.Contains(got, "server at fault") {
		t.Errorf("no-license-server names the server to add; got:\n%s", got)
	}
}

func TestLintCatchesDecidesRepeatedInDetail(t *testing.T) {
	got := strings.Join(Lint(lintArticle(t, `"2016"`, `phase = "check"
decides = "STOPPED → start it"
risk = "safe"
where = "session-host"
detail = "Read-only. Decides: STOPPED → start it"`)), "\n")
	if !strings.Contains(got, "repeats what decides says") {
		t.Errorf("want the repetition found, got:\n%s", got)
	}
}
