package regcfg

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// GraceCommand asks Windows for the grace days left (WMI
// Win32_TerminalServiceSetting.GetGracePeriodDays, kb-reference §2 SC-03).
// It is run through PowerShell because WMI method calls need COM, which the
// rest of the tool never touches.
var GraceCommand = []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
	"(Get-CimInstance -Namespace root/cimv2/terminalservices -ClassName Win32_TerminalServiceSetting | " +
		"Invoke-CimMethod -MethodName GetGracePeriodDays).DaysLeft"}

// ParseGraceDays reads GraceCommand's output: one integer (PowerShell may
// add blank lines and a UTF-8 BOM).
func ParseGraceDays(out string) (int, error) {
	var found []string
	for _, l := range strings.Split(strings.TrimPrefix(out, "\ufeff"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("GetGracePeriodDays: expected one number, got %q", strings.TrimSpace(out))
	}
	n, err := strconv.Atoi(found[0])
	if err != nil || n < 0 {
		return 0, fmt.Errorf("GetGracePeriodDays: not a day count: %q", found[0])
	}
	return n, nil
}

// DaysLeft counts whole days from now until expires, rounding a part day
// up (a grace period ending this afternoon still has 1 day), 0 once past.
func DaysLeft(expires, now time.Time) int {
	d := expires.Sub(now)
	if d <= 0 {
		return 0
	}
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		days++
	}
	return days
}

// SetGraceDays records a day count and where it came from.
func (c *Config) SetGraceDays(n int, from string) {
	c.GraceDaysLeft = &n
	c.GraceDaysFrom = from
}

// DomainCommand asks Windows whether this computer is joined to a domain
// (Win32_ComputerSystem.PartOfDomain): per-user CALs are not permitted on a
// workgroup host ("License Remote Desktop session hosts", Microsoft Learn).
var DomainCommand = []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
	"(Get-CimInstance -ClassName Win32_ComputerSystem).PartOfDomain"}

// ParsePartOfDomain reads DomainCommand's output: PowerShell prints a
// boolean as True or False.
func ParsePartOfDomain(out string) (bool, error) {
	var found []string
	for _, l := range strings.Split(strings.TrimPrefix(out, "\ufeff"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			found = append(found, l)
		}
	}
	if len(found) == 1 {
		switch strings.ToLower(found[0]) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("PartOfDomain: expected True or False, got %q", strings.TrimSpace(out))
}
