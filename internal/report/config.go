package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// ConfigHosts lists the hosts the report has configuration for, sorted.
func (r *Report) ConfigHosts() []string {
	out := make([]string, 0, len(r.Config))
	for h := range r.Config {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// ConfigLines are the "Configuration seen" lines, one per host, each
// "HOST: summary [sources]"; notes follow their host's line.
func (r *Report) ConfigLines() []string {
	var out []string
	for _, h := range r.ConfigHosts() {
		c := r.Config[h]
		out = append(out, h+": "+ConfigLine(&c))
		for _, n := range c.Notes {
			out = append(out, h+": note: "+n)
		}
	}
	return out
}

// ConfigLine summarizes one host's licensing configuration on one line.
func ConfigLine(c *regcfg.Config) string {
	src := " [" + strings.Join(c.Sources, ", ") + "]"
	if c.Empty() {
		return "no licensing values found" + src
	}
	var parts []string
	if c.Mode != "" && c.LicensingMode != nil {
		parts = append(parts, fmt.Sprintf("licensing mode %s (%d)", c.Mode, *c.LicensingMode))
	} else {
		parts = append(parts, "licensing mode not set")
	}
	if len(c.LicenseServers) > 0 {
		parts = append(parts, "license servers "+strings.Join(c.LicenseServers, ", "))
	} else {
		parts = append(parts, "no license server specified")
	}
	if c.DefaultLicenseServer != "" {
		parts = append(parts, "DefaultLicenseServer "+c.DefaultLicenseServer)
	}
	if c.GracePeriodKey {
		parts = append(parts, "GracePeriod key present")
	}
	if c.GraceDaysLeft != nil {
		parts = append(parts, fmt.Sprintf("grace days left %d", *c.GraceDaysLeft))
	}
	return strings.Join(parts, "; ") + src
}

// Header is what the person who runs the scan adds to the report for its
// reader: a title and a case (ticket number, customer), and whether input
// names keep the scanning machine's directories. The HTML page shows it.
type Header struct {
	Title     string // replaces the page's default heading when set
	Case      string // case number or customer, shown under the heading
	FullPaths bool   // show inputs and evidence files with their directories
}
