package collect

import (
	"fmt"
	"io"
	"strings"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// WriteSummary prints what collect saw live: the mode, the servers, the
// grace days left and each server's reachability, then what was left out.
func (res *Result) WriteSummary(w io.Writer, bundle string) {
	m := &res.Manifest
	admin := "yes"
	if !m.Admin {
		admin = "no (some items need an elevated prompt)"
	}
	since := "whole logs"
	if m.Since != "" {
		since = "last " + m.Since
	}
	fmt.Fprintf(w, "Collected %s into %s (%s; administrator: %s)\n", m.Host, bundle, since, admin)
	if m.OS != "" {
		fmt.Fprintf(w, "  OS: %s\n", m.OS)
	}
	for _, l := range StateLines(res.State) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	n := 0
	for _, it := range m.Items {
		if it.Status == StatusCollected {
			n++
		}
	}
	fmt.Fprintf(w, "  %d of %d items collected\n", n, len(m.Items))
	for _, l := range m.Missing() {
		fmt.Fprintf(w, "  not collected: %s\n", l)
	}
}

// StateLines words the live state, one fact a line.
func StateLines(st *regcfg.State) []string {
	if st == nil {
		return []string{"live state: not read"}
	}
	var out []string
	if sh := st.SessionHost; sh != nil {
		mode := sh.LicensingName
		if mode == "" && sh.LicensingType != nil {
			mode = fmt.Sprintf("LicensingType %d", *sh.LicensingType)
		}
		if mode == "" {
			mode = "unknown"
		}
		out = append(out, "licensing mode: "+mode+policyNote(sh.PolicySourceLicensingType))
		servers := "none specified"
		if len(sh.SpecifiedLicenseServers) > 0 {
			servers = strings.Join(sh.SpecifiedLicenseServers, ", ")
		}
		out = append(out, "license servers: "+servers+policyNote(sh.PolicySourceConfiguredLicenseServers))
		switch {
		case sh.GraceDaysLeft == nil:
			out = append(out, "grace period: days left unknown")
		case *sh.GraceDaysLeft == 0:
			out = append(out, "grace period: over (0 days left)")
		default:
			out = append(out, fmt.Sprintf("grace period: %d days left", *sh.GraceDaysLeft))
		}
		for _, s := range sh.Servers {
			verdict := "reachable, can issue licenses"
			switch {
			case s.Unreachable():
				verdict = "NOT reachable"
			case !s.Reachable():
				verdict = "reached, but not usable"
			}
			out = append(out, fmt.Sprintf("%s: %s (%s, %d)", s.Name, verdict, regcfg.ConnectivityName(s.Status), s.Status))
		}
	} else {
		out = append(out, "session host: no Win32_TerminalServiceSetting answer (RD Session Host role absent, or WMI refused)")
	}
	if ls := st.LicenseServer; ls != nil {
		act := "unknown"
		if a := ls.ActivationStatus; a != nil {
			act = [...]string{"activated", "NOT activated", "unknown"}[*a]
		}
		out = append(out, "license server: "+act)
		for _, k := range ls.KeyPacks {
			out = append(out, fmt.Sprintf("key pack %d %s %s: %d of %d available", k.KeyPackID, k.TypeAndModel, k.ProductVersion, k.Available, k.Total))
		}
	}
	for _, n := range st.Notes {
		out = append(out, "note: "+n)
	}
	return out
}

func policyNote(p *int) string {
	if p != nil && *p == 1 {
		return " (set by group policy)"
	}
	return ""
}
