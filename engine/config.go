package engine

import (
	"sort"
	"time"

	"github.com/tsdiag/tsdiag/rules"
)

// ScanWideHost is the host a configuration rule's finding names when the
// configuration belongs to no host the log names: a scan-wide
// configuration (live, watch, one export of no named host) with no event.
const ScanWideHost = "(this server)"

// configHost is one configuration a configuration rule is evaluated on.
type configHost struct {
	computer string
	cfg      map[string]string
}

// configFindings evaluates the on = "config" rules once per host
// configuration: a configuration that cannot work is a finding even when
// the log holds no licensing event yet (the grace period hides it).
func (e *Engine) configFindings(now time.Time) []Finding {
	var crs []*rules.Compiled
	for _, r := range e.set.Rules {
		if r.IsConfig() {
			crs = append(crs, r)
		}
	}
	if len(crs) == 0 {
		return nil
	}
	var out []Finding
	env := e.set.NewEnv()
	env.SetHostConfig(e.opts.Config, e.opts.HostConfig)
	for _, h := range e.configHosts() {
		env.Event = rules.Event{Computer: h.computer, Time: now}
		env.Config = h.cfg
		env.Now = now
		for _, r := range crs {
			ok := false
			rs := e.stateOf(r)
			rs.run(func() {
				var err error
				if ok, err = r.MatchConfig(env); err != nil {
					rs.evalError(err)
				}
			})
			if ok {
				out = append(out, e.configFinding(r, h, now))
			}
		}
	}
	return out
}

// configHosts lists the configurations to evaluate, in a stable order.
// Each HostConfig entry names its host by the computer name its events
// carry (RDSH01 → rdsh01.contoso.local) when the log has one. Without
// HostConfig, the scan-wide Config is every logged host's; with no event
// it belongs to ScanWideHost. One HostConfig entry that no event names,
// in a log of exactly one host, is that host's (a one-server bundle whose
// export is named "licensing.reg": scan applies it to every host).
func (e *Engine) configHosts() []configHost {
	seen := make([]string, 0, len(e.hostNewest))
	for h := range e.hostNewest {
		if h != "" {
			seen = append(seen, h)
		}
	}
	sort.Strings(seen)
	if len(e.opts.HostConfig) == 0 {
		if e.opts.Config == nil {
			return nil
		}
		if len(seen) == 0 {
			return []configHost{{ScanWideHost, e.opts.Config}}
		}
		out := make([]configHost, len(seen))
		for i, h := range seen {
			out[i] = configHost{h, e.opts.Config}
		}
		return out
	}
	labels := make([]string, 0, len(e.opts.HostConfig))
	for l := range e.opts.HostConfig {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	var out []configHost
	for _, l := range labels {
		name := l
		found := false
		for _, h := range seen {
			if HostKey(h) == l {
				name, found = h, true
				break
			}
		}
		if !found && len(labels) == 1 && len(seen) == 1 && e.opts.Config != nil {
			name = seen[0]
		}
		out = append(out, configHost{name, e.opts.HostConfig[l]})
	}
	return out
}

// configFinding is the finding of one configuration rule on one host: one
// observation at the reference time, no event evidence (the facts carry
// the values read).
func (e *Engine) configFinding(r *rules.Compiled, h configHost, now time.Time) Finding {
	f := Finding{
		ID: r.Diagnosis, Rule: r.ID, Title: r.Title, Severity: r.Severity, Confidence: r.Confidence,
		Group: map[string]string{"host": h.computer}, Host: h.computer, FirstSeen: now, LastSeen: now,
		Count: 1, Evidence: []Evidence{}, Timeline: []Bucket{}, KB: append([]string{}, r.KB...),
		Facts: map[string]any{},
	}
	if len(r.Facts) == 0 {
		return f
	}
	env := e.set.NewFactEnv()
	env.Event = rules.Event{Computer: h.computer, Time: now}
	env.Last = env.Event
	env.Now = now
	env.SetHostConfig(e.opts.Config, e.opts.HostConfig)
	env.Config = h.cfg
	env.Count = 1
	env.FirstSeen, env.LastSeen = now, now
	env.Groups = map[string]string{"host": h.computer}
	rs := e.stateOf(r)
	for _, fp := range r.Facts {
		rs.run(func() {
			v, err := fp.Prog.Run(env)
			if err != nil {
				rs.evalError(err)
				return
			}
			f.Facts[fp.Name] = factValue(v)
		})
	}
	return f
}
