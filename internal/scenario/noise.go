package scenario

import (
	"fmt"
	"math/rand"
	"strconv"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// bytesPerSlot is the measured average size of one noise burst in the
// written file (see TestNoiseBytesEstimate); --noise-mb divides by it.
const bytesPerSlot = 1100

// services are display names a healthy server's SCM reports routinely;
// the licensing and RDS services are left out on purpose so noise never
// looks like a licensing symptom.
var services = []string{
	"Windows Update", "Background Intelligent Transfer Service", "Windows Modules Installer",
	"WinHTTP Web Proxy Auto-Discovery Service", "Windows Error Reporting Service",
	"Volume Shadow Copy", "Microsoft Software Shadow Copy Provider", "Device Setup Manager",
	"Network Setup Service", "Printer Extensions and Notifications", "Application Information",
}

var legacyServices = []string{
	"Print Spooler", "Automatic Updates", "Background Intelligent Transfer Service",
	"Application Management", "Removable Storage", "WMI Performance Adapter",
}

// noiseGen produces background records lazily and in time order: the
// span is cut into equal slots and each slot holds one short burst.
type noiseGen struct {
	s        Scenario
	rng      *rand.Rand
	start    time.Time
	step     time.Duration
	slots    int64
	slot     int64
	buf      []writer.Record
	legacy   bool
	sessions []string
}

func newNoise(s Scenario, seed int64, start time.Time, noiseBytes int64) *noiseGen {
	slots := int64(s.Noise.PerDay*len(s.Noise.Hosts)*s.Days) + noiseBytes/bytesPerSlot
	g := &noiseGen{s: s, rng: rand.New(rand.NewSource(seed)), start: start, slots: slots,
		legacy: s.Era == "2000" || s.Era == "2003", sessions: s.Noise.Sessions}
	if len(g.sessions) == 0 {
		g.sessions = s.Noise.Hosts
	}
	if slots > 0 {
		g.step = time.Duration(int64(s.Days) * int64(24*time.Hour) / slots)
	}
	return g
}

func (g *noiseGen) peek() (writer.Record, bool) {
	for len(g.buf) == 0 {
		if g.slot >= g.slots || g.step == 0 {
			return writer.Record{}, false
		}
		g.fill()
	}
	return g.buf[0], true
}

func (g *noiseGen) next() writer.Record {
	r := g.buf[0]
	g.buf = g.buf[1:]
	return r
}

// fill builds the burst of the next slot; its records are spread inside
// the slot so bursts never overlap.
func (g *noiseGen) fill() {
	t0 := g.start.Add(time.Duration(g.slot) * g.step)
	g.slot++
	host := g.s.Noise.Hosts[g.rng.Intn(len(g.s.Noise.Hosts))]
	var burst []func(time.Time) writer.Record
	if g.legacy {
		burst = g.legacyBurst(host)
	} else {
		burst = g.modernBurst(host)
	}
	for j, mk := range burst {
		g.buf = append(g.buf, mk(t0.Add(g.step*time.Duration(j)/time.Duration(len(burst)+1))))
	}
}

type maker = func(time.Time) writer.Record

// Rare events are drawn per mille: a reboot about every two weeks and
// the uptime record about daily at the usual 40–60 bursts a day.
func (g *noiseGen) modernBurst(host string) []maker {
	switch r := g.rng.Intn(1000); {
	case r < 1:
		return g.reboot(host)
	case r < 20:
		return []maker{g.uptime(host)}
	}
	k := g.rng.Intn(100)
	session := contains(g.sessions, host) && len(g.s.Noise.Users) > 0
	switch {
	case session && k < 25:
		return g.logon(host)
	case session && k < 35:
		return []maker{g.lsm(host, 24, true)}
	case session && k < 40:
		return []maker{g.lsm(host, 25, true)}
	case session && k < 50:
		return []maker{g.lsm(host, 23, false)}
	case k < 53:
		return []maker{g.rec(host, "scm", 7040, 4, "Background Intelligent Transfer Service", "demand start", "auto start", "BITS")}
	}
	svc := services[g.rng.Intn(len(services))]
	return []maker{g.rec(host, "scm", 7036, 4, svc, "running"), g.rec(host, "scm", 7036, 4, svc, "stopped")}
}

func (g *noiseGen) legacyBurst(host string) []maker {
	switch r := g.rng.Intn(1000); {
	case r < 2:
		return g.reboot(host)
	case r < 40:
		return []maker{g.uptime(host)}
	}
	svc := legacyServices[g.rng.Intn(len(legacyServices))]
	return []maker{g.rec(host, "scm-classic", 7036, 4, svc, "running"), g.rec(host, "scm-classic", 7036, 4, svc, "stopped")}
}

func (g *noiseGen) rec(host, src string, id uint16, level uint8, params ...string) maker {
	s := sources[src]
	return func(t time.Time) writer.Record {
		r := newRecord(s, id, level, host, t)
		r.Payload = s.payload(id, params, nil)
		return r
	}
}

// logon is a successful RDP logon: listener, authentication, session
// logon, shell start (kb-reference.md §1d).
func (g *noiseGen) logon(host string) []maker {
	u := g.rng.Intn(len(g.s.Noise.Users))
	user, ip := g.s.Noise.Users[u], clientIP(u)
	sid := strconv.Itoa(2 + g.rng.Intn(40))
	return []maker{
		g.rec(host, "rcm", 261, 4, "RDP-Tcp"),
		g.rec(host, "rcm", 1149, 4, user, "CONTOSO", ip),
		g.rec(host, "lsm", 21, 4, `CONTOSO\`+user, sid, ip),
		g.rec(host, "lsm", 22, 4, `CONTOSO\`+user, sid, ip),
	}
}

func (g *noiseGen) lsm(host string, id uint16, withAddress bool) maker {
	u := g.rng.Intn(len(g.s.Noise.Users))
	params := []string{`CONTOSO\` + g.s.Noise.Users[u], strconv.Itoa(2 + g.rng.Intn(40))}
	if withAddress {
		params = append(params, clientIP(u))
	}
	return g.rec(host, "lsm", id, 4, params...)
}

// osVersion is what 6009 names per era: version and build.
var osVersion = map[string][]string{
	"2000": {"5.00.", "2195", "Service Pack 4"}, "2003": {"5.02.", "3790", "Service Pack 2"},
	"2008": {"6.00.", "6002", "Service Pack 2"}, "2008r2": {"6.01.", "7601", "Service Pack 1"},
	"2012r2": {"6.03.", "9600", ""}, "2016": {"10.00.", "14393", ""},
	"2019": {"10.00.", "17763", ""}, "2022": {"10.00.", "20348", ""},
}

func clientIP(i int) string { return fmt.Sprintf("10.20.%d.%d", 1+i/200, 10+i%200) }

func (g *noiseGen) uptime(host string) maker {
	secs := strconv.Itoa(3600 + g.rng.Intn(30*86400))
	tz := g.s.Noise.TimeZone
	if tz == "" {
		tz = "0 Coordinated Universal Time"
	}
	return g.rec(host, "eventlog", 6013, 4, "", "", "", "", secs, "60", tz)
}

// reboot is the EventLog stop/start pair of a planned restart.
func (g *noiseGen) reboot(host string) []maker {
	return []maker{
		g.rec(host, "eventlog", 6006, 4),
		g.rec(host, "eventlog", 6009, 4, append(osVersion[g.s.Era], "Multiprocessor Free", "0")...),
		g.rec(host, "eventlog", 6005, 4),
	}
}
