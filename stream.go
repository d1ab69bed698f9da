package tsdiag

import (
	"errors"
	"time"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/internal/regcfg"
	"github.com/tsdiag/tsdiag/internal/report"
)

// StreamOptions say where a stream's licensing configuration comes from.
type StreamOptions struct {
	// RegFiles are registry exports, or folders holding them, read as
	// Scan reads them: each tied to the host named by its folder or file
	// name, one host's exports applying to every host.
	RegFiles []string
	// Local is this machine's configuration (live: read from the
	// registry), for every host; LocalHost names it in Config.
	Local     *LicensingConfig
	LocalHost string
}

// Stream diagnoses events fed one at a time (a growing log, an event
// subscription), with the pipeline Scan runs: same rules, registry
// handling, suppressions and knowledge base. It is not safe for concurrent
// use.
type Stream struct {
	d      *Diagnoser
	eng    *engine.Engine
	config map[string]regcfg.Config
}

// Stream starts a stream. A relative since (Config.SinceAgo) needs the
// newest event before the first is evaluated, which a stream cannot know:
// it is refused.
func (d *Diagnoser) Stream(o StreamOptions) (*Stream, error) {
	if d.cfg.SinceAgo > 0 {
		return nil, errors.New("a stream cannot count --since back from its newest event: give a time")
	}
	win := engine.Options{Now: d.cfg.Now, Since: d.cfg.Since, Until: d.cfg.Until}
	s := &Stream{d: d}
	if len(o.RegFiles) > 0 {
		reg := newRegConfig(o.RegFiles)
		if err := reg.readAll(o.RegFiles); err != nil {
			return nil, err
		}
		ruled := reg.engineOptions(&win)
		// Every export's host counts as seen: a stream has not read its
		// events yet, and no note should claim they are missing.
		s.config = reg.report(ruled, ruled)
	}
	if o.Local != nil {
		win.Config = o.Local.Flat()
		host := o.LocalHost
		if host == "" {
			host = "this machine"
		}
		if s.config == nil {
			s.config = map[string]regcfg.Config{}
		}
		s.config[host] = *o.Local
	}
	s.eng = engine.New(d.set, win)
	return s, nil
}

// Feed adds one event; the stream keeps the pointer.
func (s *Stream) Feed(ev *Event) error { return s.eng.Feed(ev) }

// Filter tells whether a rule can match an event of provider and id.
func (s *Stream) Filter() evtx.Filter { return s.d.set.Filter() }

// Snapshot returns the ranked findings so far, suppressions applied, with
// their articles. A non-zero at moves the clock to at when it is after the
// newest event (a live server: deadlines pass without new events).
func (s *Stream) Snapshot(at time.Time) []Item {
	kept, _, _ := s.d.sup.Apply(s.eng.Snapshot(at), s.d.clock())
	return report.Items(kept, s.d.base)
}

// Config is the licensing configuration by host; nil when none was read.
func (s *Stream) Config() map[string]LicensingConfig { return s.config }

// Stats counts what the rules saw so far.
func (s *Stream) Stats() engine.Stats { return s.eng.Stats() }
