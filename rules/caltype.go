package rules

import (
	"regexp"
	"strings"
)

// CalType is the CAL type token of a product name as the license server
// writes it (21, 22, 4144 %2: "Windows Server 2016 - RDS Per User CAL",
// "Windows Server 2003 - Terminal Server Per Device CAL Token", or a bare
// "Per Device"): "per-user", "per-device", "per-session", or "" when the
// name carries none. The version is deliberately ignored: a 2016 and a 2019
// per-device CAL are the same type.
func CalType(product string) string {
	s := strings.Join(strings.Fields(strings.ToLower(product)), " ")
	switch {
	case strings.Contains(s, "per user"):
		return "per-user"
	case strings.Contains(s, "per device"):
		return "per-device"
	case strings.Contains(s, "per session"):
		return "per-session"
	}
	return ""
}

var calVersionRe = regexp.MustCompile(`(?i)\b(20\d\d)(\s*R2)?\b`)

// CalVersion is the Windows version a product name is for, in the era
// tokens the kb uses ("2008r2", "2016", "2019"…), "" when it names none.
func CalVersion(product string) string {
	m := calVersionRe.FindStringSubmatch(product)
	if m == nil {
		return ""
	}
	if m[2] != "" {
		return m[1] + "r2"
	}
	return m[1]
}
