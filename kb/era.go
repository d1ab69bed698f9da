package kb

import (
	"slices"
	"strings"
)

// Eras are the Windows Server versions a step or an article may name, oldest
// first. 2000 and 2003 log through the classic TermService and
// TermServLicensing sources; 2008 (6.0) logs the RCM provider with the old
// 10xx ids; 2008 R2 to 2016 log 1128–1133; 2019 and later 50280–50285.
var Eras = []string{"2000", "2003", "2008", "2008r2", "2012", "2012r2", "2016", "2019", "2022", "2025"}

var eraNames = map[string]string{
	"2000": "Windows 2000 Server", "2003": "Windows Server 2003", "2008": "Windows Server 2008",
	"2008r2": "Windows Server 2008 R2", "2012": "Windows Server 2012", "2012r2": "Windows Server 2012 R2",
	"2016": "Windows Server 2016", "2019": "Windows Server 2019", "2022": "Windows Server 2022",
	"2025": "Windows Server 2025",
}

// EraName is the product name of an era token.
func EraName(era string) string {
	if n, ok := eraNames[era]; ok {
		return n
	}
	return era
}

func validEra(e string) bool { return slices.Contains(Eras, e) }

// eraRange lists the eras from..to inclusive.
func eraRange(from, to string) []string {
	i, j := slices.Index(Eras, from), slices.Index(Eras, to)
	return slices.Clone(Eras[i : j+1])
}

// Build numbers of the server releases (the OS build a 6009 event or a
// registry export names).
var buildEra = map[int]string{
	2195: "2000", 3790: "2003", 6001: "2008", 6002: "2008", 6003: "2008",
	7600: "2008r2", 7601: "2008r2", 9200: "2012", 9600: "2012r2", 14393: "2016",
	17763: "2019", 20348: "2022", 26100: "2025",
}

// EraOfBuild maps an OS build number to its era ("" when not a server
// release this table knows).
func EraOfBuild(build int) string { return buildEra[build] }

const (
	provTermService = "termservice"
	provTSLicensing = "termservlicensing"
	provRCM         = "microsoft-windows-terminalservices-remoteconnectionmanager"
)

// ErasOfEvent lists the eras that log this event, or nil when the event
// says nothing of the era. The mapping follows the termsrv.dll message
// tables as summarised in kb-reference.md (Errata: the 50xxx ids appear from
// build 17134, so among server releases from 2019; 14393 still uses
// 1128–1133; 1000, 1008–1010, 1026 and 1027 exist only up to 6.0).
func ErasOfEvent(provider string, id int) []string {
	p := strings.ToLower(provider)
	// RCM also logs under the legacy source name TermService; an id only
	// the RCM tables have is read as RCM whatever the source says.
	if p == provTermService && rcmOnly(id) {
		p = provRCM
	}
	switch p {
	case provTermService, provTSLicensing:
		return []string{"2000", "2003"}
	case provRCM:
		switch {
		case id == 1000 || (id >= 1008 && id <= 1010) || id == 1026 || id == 1027:
			return []string{"2008"}
		case id >= 1128 && id <= 1133:
			return eraRange("2008r2", "2016")
		case id == 1028 || id == 1043 || id == 1061:
			return eraRange("2008", "2016")
		case id == 1068 || id == 1069:
			return eraRange("2008r2", "2025")
		case id == 50180 || id == 50195 || id == 50213 || (id >= 50280 && id <= 50285):
			return eraRange("2019", "2025")
		case id == 20497:
			return eraRange("2012r2", "2025")
		}
		return eraRange("2008", "2025")
	}
	return nil
}

// rcmOnly tells the ids that exist only in the 2008 R2 and later tables.
func rcmOnly(id int) bool {
	return (id >= 1128 && id <= 1133) || id == 1068 || id == 1069 || id == 20497 || (id >= 50180 && id <= 50312)
}

// Narrow intersects what is known (nil = anything) with what one more,
// later piece of evidence allows. When the two disagree the later evidence
// wins: a host upgraded in place logs the old ids first and the new ones
// after, and it runs the newer version now.
func Narrow(known, allowed []string) []string {
	if allowed == nil {
		return known
	}
	if known == nil {
		return slices.Clone(allowed)
	}
	var out []string
	for _, e := range known {
		if slices.Contains(allowed, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return slices.Clone(allowed)
	}
	return out
}

// ErasText names a set of eras for a reader: "Windows Server 2008 R2 to
// 2016", "Windows Server 2003".
func ErasText(eras []string) string {
	if len(eras) == 0 {
		return "all versions"
	}
	var runs []string
	for i := 0; i < len(eras); {
		j := i
		for j+1 < len(eras) && slices.Index(Eras, eras[j+1]) == slices.Index(Eras, eras[j])+1 {
			j++
		}
		if i == j {
			runs = append(runs, EraName(eras[i]))
		} else {
			end := EraName(eras[j])
			if strings.HasPrefix(EraName(eras[i]), "Windows Server ") {
				end = strings.TrimPrefix(end, "Windows Server ")
			}
			runs = append(runs, EraName(eras[i])+" to "+end)
		}
		i = j + 1
	}
	return strings.Join(runs, ", ")
}

func sortEras(eras []string) {
	slices.SortFunc(eras, func(a, b string) int { return slices.Index(Eras, a) - slices.Index(Eras, b) })
}

// Seen is one event of a finding's evidence, as far as its era goes.
type Seen struct {
	Provider string
	EventID  int
	Computer string
}

// ErasOf works out the host's Windows version from a finding's evidence, in
// time order: the events logged by host itself (all of them when host is
// empty or none matches) narrow the possible eras; a known build number
// pins one. era is
// that single era when the evidence leaves only one, else "".
func ErasOf(host string, evidence []Seen, build int) (era string, eras []string) {
	if e := EraOfBuild(build); e != "" {
		return e, []string{e}
	}
	own := evidence[:0:0]
	for _, s := range evidence {
		if host == "" || sameHost(s.Computer, host) {
			own = append(own, s)
		}
	}
	if len(own) == 0 {
		own = evidence
	}
	for _, s := range own {
		eras = Narrow(eras, ErasOfEvent(s.Provider, s.EventID))
	}
	if len(eras) == 1 {
		era = eras[0]
	}
	return era, eras
}

// sameHost compares computer names by their first label, case-insensitive
// (RDSH01 and rdsh01.contoso.com are one host).
func sameHost(a, b string) bool {
	short := func(s string) string {
		s = strings.TrimSpace(s)
		if i := strings.IndexByte(s, '.'); i > 0 && !isIP(s) {
			s = s[:i]
		}
		return strings.ToUpper(s)
	}
	return short(a) == short(b)
}

func isIP(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

// BuildOf reads a build number from a finding's facts ("build" or
// "os_build"), 0 when none.
func BuildOf(facts map[string]any) int {
	for _, k := range []string{"build", "os_build"} {
		switch v := facts[k].(type) {
		case int:
			return v
		case int64:
			return int(v)
		case float64:
			return int(v)
		case string:
			n := 0
			for _, r := range strings.TrimSpace(v) {
				if r < '0' || r > '9' {
					break
				}
				n = n*10 + int(r-'0')
			}
			if n > 0 {
				return n
			}
		}
	}
	return 0
}
