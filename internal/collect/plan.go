// Package collect gathers a support bundle on a Remote Desktop server: the
// licensing event channels as .evtx, the licensing registry keys as .reg,
// the live licensing state (WMI) as a JSON file, and a manifest saying what
// was collected and what was left out, and why.
//
// The Windows layer (host_windows.go) only runs programs and reads RCM
// value names; every command line is built here and every output is parsed
// here, by portable code tested on Linux from recorded outputs (testdata).
// Sources for each command, class, method and value: docs/collect.md.
package collect

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// Channel is one event log to export and the file it goes to.
type Channel struct {
	Name string
	File string
}

// Channels are System and every licensing channel (issue #16). A session
// host has no Licensing channels, a license server may have no RCM ones:
// an absent channel is left out and said so.
var Channels = []Channel{
	{"System", "System.evtx"},
	{"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin", "RemoteConnectionManager-Admin.evtx"},
	{"Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational", "RemoteConnectionManager-Operational.evtx"},
	{"Microsoft-Windows-TerminalServices-Licensing/Admin", "Licensing-Admin.evtx"},
	{"Microsoft-Windows-TerminalServices-Licensing/Operational", "Licensing-Operational.evtx"},
	{"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "LocalSessionManager-Operational.evtx"},
}

// RegKey is one key exported whole with reg export.
type RegKey struct {
	Key  string // as reg export takes it (HKLM\…)
	File string
}

// RegKeys are exported whole. RCM itself is not: it holds the host's
// certificate values, whose names alone are collected (RCMKey).
var RegKeys = []RegKey{
	{`HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core`, "licensing-core.reg"},
	{`HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers`, "license-servers.reg"},
	{`HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`, "policy-terminal-services.reg"},
}

// RCMKey is read for its value and subkey names only.
const RCMKey = `SYSTEM\CurrentControlSet\Control\Terminal Server\RCM`

// Bundle file names beside the logs and exports.
const (
	ManifestFile = "manifest.json"
	StateFile    = regcfg.StateFile
	wmiRawFile   = "wmi-raw.json"
)

// ExportQuery is the XPath query that keeps the events of the last since
// (wevtutil epl /q:…): timediff(@SystemTime) is the event's age in
// milliseconds ("Consuming Events", Microsoft Learn). "" for since <= 0
// (the whole log). Written without spaces so the argument needs no quoting.
func ExportQuery(since time.Duration) string {
	if since <= 0 {
		return ""
	}
	return "*[System[TimeCreated[timediff(@SystemTime)<=" + strconv.FormatInt(since.Milliseconds(), 10) + "]]]"
}

// ExportArgs is wevtutil's command line exporting channel to file
// ("wevtutil", Windows Commands: epl <Path> <Exportfile> [/q:<Query>]
// [/ow:<Overwrite>]).
func ExportArgs(channel, file string, since time.Duration) []string {
	args := []string{"epl", channel, file}
	if q := ExportQuery(since); q != "" {
		args = append(args, "/q:"+q)
	}
	return append(args, "/ow:true")
}

// ChannelInfoArgs asks wevtutil for a channel's configuration as XML
// (gl <Logname> /f:xml): it fails for a channel that does not exist, which
// tells "channel absent" from an export that failed.
func ChannelInfoArgs(channel string) []string {
	return []string{"gl", channel, "/f:xml"}
}

// RegExportArgs is reg's command line ("reg export", Windows Commands:
// reg export KeyName FileName [/y]; exit code 0 success, 1 failure).
func RegExportArgs(key, file string) []string {
	return []string{"export", key, file, "/y"}
}

// StateScript asks WMI for the live licensing state and prints it as one
// JSON object (parsed by ParseWMI). Every call has its own try, so what
// fails (no RD Session Host role, no license server, not an
// administrator) becomes an entry of Errors and the rest is still read.
// Classes, methods and properties: Win32_TerminalServiceSetting
// (root/cimv2/TerminalServices: LicensingType, LicensingName,
// PolicySourceLicensingType, PolicySourceConfiguredLicenseServers,
// GetGracePeriodDays → DaysLeft, GetSpecifiedLicenseServerList →
// SpecifiedLSList, GetTStoLSConnectivityStatus(ServerName) →
// TStoLSConnectivityStatus), Win32_TSLicenseServer (root/cimv2,
// GetActivationStatus → ActivationStatus), Win32_TSLicenseKeyPack
// (root/cimv2), Win32_OperatingSystem (Caption, Version, BuildNumber),
// Win32_ComputerSystem (PartOfDomain: per-user CALs are not permitted on a
// workgroup host, "License Remote Desktop session hosts", Microsoft Learn).
const StateScript = `$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
$r = [ordered]@{}
$e = [ordered]@{}
try {
  $o = Get-CimInstance -ClassName Win32_OperatingSystem
  $r.OperatingSystem = [ordered]@{ Caption = $o.Caption; Version = $o.Version; BuildNumber = $o.BuildNumber }
} catch { $e.Win32_OperatingSystem = $_.Exception.Message }
try {
  $cs = Get-CimInstance -ClassName Win32_ComputerSystem
  $r.ComputerSystem = [ordered]@{ PartOfDomain = $cs.PartOfDomain }
} catch { $e.Win32_ComputerSystem = $_.Exception.Message }
try {
  $ts = Get-CimInstance -Namespace root/cimv2/TerminalServices -ClassName Win32_TerminalServiceSetting
  $r.TerminalServiceSetting = [ordered]@{ LicensingType = $ts.LicensingType; LicensingName = $ts.LicensingName; PolicySourceLicensingType = $ts.PolicySourceLicensingType; PolicySourceConfiguredLicenseServers = $ts.PolicySourceConfiguredLicenseServers }
  try {
    $m = Invoke-CimMethod -InputObject $ts -MethodName GetGracePeriodDays
    $r.GracePeriodDays = [ordered]@{ ReturnValue = $m.ReturnValue; DaysLeft = $m.DaysLeft }
  } catch { $e.GetGracePeriodDays = $_.Exception.Message }
  try {
    $m = Invoke-CimMethod -InputObject $ts -MethodName GetSpecifiedLicenseServerList
    $list = @($m.SpecifiedLSList | Where-Object { $_ })
    $r.SpecifiedLicenseServerList = [ordered]@{ ReturnValue = $m.ReturnValue; SpecifiedLSList = $list }
    $r.Connectivity = @(foreach ($s in $list) {
      try {
        $c = Invoke-CimMethod -InputObject $ts -MethodName GetTStoLSConnectivityStatus -Arguments @{ ServerName = $s }
        [ordered]@{ ServerName = $s; ReturnValue = $c.ReturnValue; TStoLSConnectivityStatus = $c.TStoLSConnectivityStatus }
      } catch { [ordered]@{ ServerName = $s; Error = $_.Exception.Message } }
    })
  } catch { $e.GetSpecifiedLicenseServerList = $_.Exception.Message }
} catch { $e.Win32_TerminalServiceSetting = $_.Exception.Message }
try {
  $ls = Get-CimInstance -Namespace root/cimv2 -ClassName Win32_TSLicenseServer
  try {
    $m = Invoke-CimMethod -InputObject $ls -MethodName GetActivationStatus
    $r.ActivationStatus = [ordered]@{ ReturnValue = $m.ReturnValue; ActivationStatus = $m.ActivationStatus }
  } catch { $e.GetActivationStatus = $_.Exception.Message }
  try {
    $r.KeyPacks = @(Get-CimInstance -Namespace root/cimv2 -ClassName Win32_TSLicenseKeyPack | ForEach-Object {
      [ordered]@{ KeyPackId = $_.KeyPackId; KeyPackType = $_.KeyPackType; ProductType = $_.ProductType; ProductVersion = $_.ProductVersion; TypeAndModel = $_.TypeAndModel; TotalLicenses = $_.TotalLicenses; IssuedLicenses = $_.IssuedLicenses; AvailableLicenses = $_.AvailableLicenses }
    })
  } catch { $e.Win32_TSLicenseKeyPack = $_.Exception.Message }
} catch { $e.Win32_TSLicenseServer = $_.Exception.Message }
$r.Errors = $e
$r | ConvertTo-Json -Depth 5 -Compress
`

// StateArgs runs StateScript with powershell.exe -EncodedCommand (the
// script as base64 of its UTF-16LE text), so no character of it is
// reinterpreted by command-line quoting.
func StateArgs() []string {
	u := utf16.Encode([]rune(StateScript))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return []string{"-NoProfile", "-NonInteractive", "-EncodedCommand", base64.StdEncoding.EncodeToString(b)}
}

// hostLabel is the bundle folder of a host: its short name in upper case
// (the form scan's registry and state files are keyed by).
func hostLabel(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if r == '-' || r == '_' || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "HOST"
	}
	return b.String()
}
