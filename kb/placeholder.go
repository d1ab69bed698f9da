package kb

import (
	"fmt"
	"regexp"
	"strings"
)

// PlaceholderNames is the one placeholder style commands and text may use;
// the kb fills those the finding knows.
var PlaceholderNames = []string{"license-server", "host", "client", "cal-type", "mode"}

var placeholderRE = regexp.MustCompile(`<([A-Za-z][A-Za-z0-9 _/.-]*)>`)

// Where each placeholder's value is looked up, first found wins: the
// finding's group labels, then its facts.
var placeholderKeys = map[string][]string{
	"license-server": {"license_server"},
	"host":           {"host", "session_host"},
	"client":         {"client", "last_client"},
	"cal-type":       {"cal_type", "product"},
	// The mode a fix sets, never the host's current mode: every step that
	// uses <mode> changes the mode, and the current one ("mode", as the
	// per-user-on-workgroup rule reports it) is the value to move away from.
	"mode": {"target_mode"},
}

// Placeholders returns the values a finding knows for the placeholders.
// <mode> is the number ChangeMode and LicensingMode take (2 per device, 4
// per user) and is filled only from target_mode, a fact a rule writes when
// its evidence decides the mode to set.
func Placeholders(f Case) map[string]string {
	out := map[string]string{}
	for name, keys := range placeholderKeys {
		for _, k := range keys {
			if v := strings.TrimSpace(f.Group[k]); v != "" {
				out[name] = v
				break
			}
			if v := factString(f.Facts[k]); v != "" {
				out[name] = v
				break
			}
		}
	}
	// The finding's own machine stands in for <host> (the session host) only
	// when it is not the license server: a finding from the license server's
	// own events (4140, 21, 18 …) would otherwise tell the admin to add the
	// license server's account to its own group.
	if _, ok := out["host"]; !ok && strings.TrimSpace(f.Host) != "" && !sameMachine(f.Host, out["license-server"]) {
		out["host"] = strings.TrimSpace(f.Host)
	}
	if _, ok := out["client"]; !ok {
		if one := onlyOne(f.Facts["clients"]); one != "" {
			out["client"] = one
		}
	}
	for name, v := range out {
		if !safeValue(name, v) {
			delete(out, name)
		}
	}
	if m, ok := out["mode"]; ok {
		out["mode"] = modeNumber(m)
		if out["mode"] == "" {
			delete(out, "mode")
		}
	}
	return out
}

// Names go into commands an administrator pastes, and they come from event
// logs anyone can write: a value is filled in only when it is a plain name
// (letters, digits, dot, dash, underscore; spaces and parentheses too in a
// CAL type), so a crafted log cannot smuggle a command into a step.
var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	calTypeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,127}$`)
)

func safeValue(name, v string) bool {
	if name == "cal-type" || name == "mode" {
		return calTypeRE.MatchString(v)
	}
	return nameRE.MatchString(v)
}

func factString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case nil, bool:
		return ""
	case []any, []string:
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

// sameMachine: two names of one computer (case-insensitive; a short name
// matches the first label of a full one).
func sameMachine(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSpace(a)), strings.ToLower(strings.TrimSpace(b))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	short := func(s string) string { h, _, _ := strings.Cut(s, "."); return h }
	return (!strings.Contains(a, ".") || !strings.Contains(b, ".")) && short(a) == short(b)
}

// onlyOne is the single name in a list fact, "" when there are more.
func onlyOne(v any) string {
	switch x := v.(type) {
	case []string:
		if len(x) == 1 {
			return x[0]
		}
	case []any:
		if len(x) == 1 {
			return factString(x[0])
		}
	}
	return ""
}

// modeNumber maps a mode fact to the ChangeMode value (Win32_TerminalServiceSetting
// ChangeMode: 2 = Per Device, 4 = Per User).
func modeNumber(m string) string {
	switch strings.ToLower(strings.ReplaceAll(m, "-", " ")) {
	case "2", "per device", "perdevice", "device":
		return "2"
	case "4", "per user", "peruser", "user":
		return "4"
	}
	return ""
}

// Fill replaces the known placeholders of text; unknown ones stay.
func Fill(text string, vals map[string]string) string {
	if len(vals) == 0 || !strings.Contains(text, "<") {
		return text
	}
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := vals[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

func fillCommands(cs CommandList, vals map[string]string) CommandList {
	if len(cs) == 0 {
		return cs
	}
	out := make(CommandList, len(cs))
	for i, c := range cs {
		c.Run = Fill(c.Run, vals)
		out[i] = c
	}
	return out
}

func fillStep(s Step, vals map[string]string) Step {
	s.Title = Fill(s.Title, vals)
	s.Detail = Fill(s.Detail, vals)
	s.Verify = Fill(s.Verify, vals)
	s.Decides = Fill(s.Decides, vals)
	s.Backup = fillCommands(s.Backup, vals)
	s.Commands = fillCommands(s.Commands, vals)
	s.VerifyCommands = fillCommands(s.VerifyCommands, vals)
	return s
}

// placeholdersIn lists the placeholder names used in text.
func placeholdersIn(text string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}
