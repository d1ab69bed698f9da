package engine

import (
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

type hostBuild struct {
	build int
	at    time.Time
}

// noteBuild remembers the OS build a boot event reveals for its host; the
// newest wins (a host upgraded in place runs the newer build now).
func (e *Engine) noteBuild(ev *evtx.Event) {
	n, ok := rules.BuildOf(ev.Provider, ev.EventID, ev.Params)
	if !ok {
		return
	}
	k := HostKey(ev.Computer)
	if e.builds == nil {
		e.builds = map[string]hostBuild{}
	}
	old, known := e.builds[k]
	if !known && len(e.builds) >= maxZones {
		return
	}
	if !known || !ev.TimeCreated.Before(old.at) {
		e.builds[k] = hostBuild{build: n, at: ev.TimeCreated}
	}
}

// addBuilds gives each finding its host's OS build as the fact os_build,
// unless a rule set one: the knowledge base picks the steps for that
// Windows version instead of guessing it from event ids.
func (e *Engine) addBuilds(fs []Finding) {
	for i := range fs {
		f := &fs[i]
		b, ok := e.builds[HostKey(f.Host)]
		if !ok || f.Host == "" {
			continue
		}
		if _, set := f.Facts["os_build"]; set {
			continue
		}
		if f.Facts == nil {
			f.Facts = map[string]any{}
		}
		f.Facts["os_build"] = b.build
	}
}
