package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// Finding statuses.
const (
	StatusActive    = "active"
	StatusResolved  = "resolved"
	StatusTransient = "transient"
)

// recoveryKey is the value of a rule's recovery.match labels. Labels are
// host names, compared as short names case-insensitively: a session host
// names its license server as it was configured (LS01 or
// LS01.contoso.local) while the license server logs its own FQDN.
func recoveryKey(vals []string) string {
	for i, v := range vals {
		v = strings.ToLower(strings.TrimSpace(v))
		if strings.Trim(v, "0123456789.") != "" {
			v, _, _ = strings.Cut(v, ".")
		}
		vals[i] = v
	}
	return strings.Join(vals, "\x1f")
}

// indexRecovery files a new accumulator under its recovery key so a
// recovery event finds the findings it ends without scanning them all.
func (rs *ruleState) indexRecovery(a *acc) {
	rv := rs.rule.Recover
	if rv == nil {
		return
	}
	vals := make([]string, len(rv.Labels))
	for i, l := range rv.Labels {
		vals[i] = a.labels[l.Name]
	}
	k := recoveryKey(vals)
	if rs.byRecovery == nil {
		rs.byRecovery = map[string][]*acc{}
	}
	rs.byRecovery[k] = append(rs.byRecovery[k], a)
}

// recover marks every finding with the event's recovery labels as
// recovered at its time, when the event follows the finding's last match
// and no earlier recovery already follows it. It reports whether the event
// was a recovery event at all.
func (rs *ruleState) recover(ev *evtx.Event) bool {
	rv := rs.rule.Recover
	if rv == nil || !rs.match(&rv.Matcher) {
		return false
	}
	vals := make([]string, len(rv.Labels))
	for i, l := range rv.Labels {
		v, err := l.Prog.String(rs.e.env)
		if err != nil {
			rs.evalError(err)
			return true
		}
		vals[i] = v
	}
	t := ev.TimeCreated
	for _, a := range rs.byRecovery[recoveryKey(vals)] {
		if t.Before(a.last) {
			continue
		}
		if a.recovered.IsZero() || a.recovered.Before(a.last) {
			a.recovered, a.recoveredBy = t, ev
			a.episodes++
		}
	}
	return true
}

// applyStatus sets the finding's status from its recovery and the rule's
// persistence threshold. A match after the recovery re-opens the finding;
// recovery.quiet holds the status at active until that long has passed
// with no further match.
func (a *acc) applyStatus(f *Finding, now time.Time) {
	f.Status = StatusActive
	if !a.recovered.IsZero() && !a.last.After(a.recovered) && a.quietSince(now) {
		f.Status = StatusResolved
		f.ResolvedAt = a.recovered
		f.LastedSeconds = a.recovered.Sub(a.first).Seconds()
		f.Facts["recovered_by"] = describe(a.recoveredBy)
		// A trouble that came back and healed several times (a nightly
		// restart) lasted first seen -> resolved in all; say how often and
		// how long the last spell was.
		f.Facts["episodes"] = a.episodes
		f.Facts["last_episode_seconds"] = a.recovered.Sub(a.episodeStart).Seconds()
	} else if short := a.belowPersistence(); short != "" {
		f.Status = StatusTransient
		f.Facts["persistence"] = short
	}
	if f.Status != StatusActive {
		f.OriginalSeverity = f.Severity
		f.Severity = "info"
	}
}

// quietSince reports whether recovery.quiet has passed since the recovery
// by now (the host's newest event may be older than a recovery logged by
// the license server: without quiet that does not matter).
func (a *acc) quietSince(now time.Time) bool {
	rv := a.rule.Recover
	if rv == nil || rv.Quiet <= 0 {
		return true
	}
	return now.Sub(a.recovered) >= rv.Quiet
}

// belowPersistence says how the finding falls short of the threshold, ""
// when it meets it.
func (a *acc) belowPersistence() string {
	r := a.rule
	span := a.last.Sub(a.first)
	if a.count >= r.PersistEvents && span >= r.PersistOver {
		return ""
	}
	return fmt.Sprintf("%d matching events over %s; the rule alarms from %d events spanning %s",
		a.count, span.Round(time.Second), max(r.PersistEvents, 1), r.PersistOver)
}

// describe names a recovery event for the finding's facts.
func describe(ev *evtx.Event) string {
	if ev == nil {
		return ""
	}
	s := fmt.Sprintf("%s %d on %s at %s", ev.Provider, ev.EventID, ev.Computer, ev.TimeCreated.UTC().Format(time.RFC3339))
	if len(ev.Params) > 0 {
		s += " (" + clip(strings.Join(ev.Params, ", ")) + ")"
	}
	return s
}

func countTransient(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Status == StatusTransient {
			n++
		}
	}
	return n
}
