package engine

import (
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// maxZones bounds the hosts whose time zone is remembered; a log naming
// more hosts reads the rest's dates as UTC (and says so).
const maxZones = 65536

// noteZone remembers the time zone an event reveals for its host (the
// latest one seen wins: a host moved to another zone logs the new one).
func (e *Engine) noteZone(ev *evtx.Event) {
	z, ok := rules.ZoneOf(ev.Provider, ev.EventID, ev.Params)
	if !ok {
		return
	}
	k := HostKey(ev.Computer)
	if e.zones == nil {
		e.zones = map[string]*rules.Zone{}
	}
	if _, known := e.zones[k]; !known && len(e.zones) >= maxZones {
		return
	}
	e.zones[k] = &z
}

// zoneOf is the time zone of computer, nil when its log did not reveal it.
func (e *Engine) zoneOf(computer string) *rules.Zone { return e.zones[HostKey(computer)] }
