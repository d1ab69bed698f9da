package rules

import (
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// Event is what a rule expression sees of one event: every evtx.Event field
// a rule can key on, with integers widened to int so expressions compare them
// with plain literals (EventID == 1128).
type Event struct {
	Provider     string
	ProviderGUID string
	EventID      int
	Qualifiers   int
	Level        int
	Task         int
	Opcode       int
	Channel      string
	Computer     string
	UserSID      string
	Time         time.Time
	RecordID     int
	Params       []string
	Data         map[string]string

	Version   int
	Keywords  uint64
	ProcessID int
	ThreadID  int
	File      string // input the event came from ("bundle.zip!System.evtx")
}

// EventOf converts a decoded event into the expression view.
func EventOf(e *evtx.Event) Event {
	return Event{
		Provider:     e.Provider,
		ProviderGUID: e.ProviderGUID,
		EventID:      int(e.EventID),
		Qualifiers:   int(e.Qualifiers),
		Level:        int(e.Level),
		Task:         int(e.Task),
		Opcode:       int(e.Opcode),
		Channel:      e.Channel,
		Computer:     e.Computer,
		UserSID:      e.UserSID,
		Time:         e.TimeCreated,
		RecordID:     int(e.RecordID),
		Params:       e.Params,
		Data:         e.Data,
		Version:      int(e.Version),
		Keywords:     e.Keywords,
		ProcessID:    int(e.ProcessID),
		ThreadID:     int(e.ThreadID),
		File:         e.File,
	}
}

// Param returns %n (1-based), or "" when the event carries fewer values.
func (e Event) Param(n int) string {
	if n < 1 || n > len(e.Params) {
		return ""
	}
	return e.Params[n-1]
}

// HasParam reports whether the event carries %n.
func (e Event) HasParam(n int) bool { return n >= 1 && n <= len(e.Params) }

// DataValue is what an expression's Data("name") call becomes (a patcher
// renames the call, because Data is also the map field).
func (e Event) DataValue(name string) string { return e.Data[name] }

// Env is the environment of the per-event expressions: when, group_by,
// sequence and absence steps, distinct values.
//
// The helpers are function-typed fields rather than methods: expr calls a
// typed function field directly, while a method is looked up by reflection
// on every call. bind sets them; always get an Env from Set.NewEnv.
type Env struct {
	Event
	Now time.Time
	// Config is the licensing configuration read from the registry or
	// .reg exports for the event's host (regcfg.Config.Flat keys: mode,
	// licensing_mode, license_servers, …); nil when none was read.
	Config map[string]string

	Param     func(n int) string       // %n, 1-based; "" when absent
	HasParam  func(n int) bool         // the event carries %n
	DataValue func(name string) string // Data("name") is rewritten to this
	Is        func(class string) bool  // the event belongs to the class
	ParseDate func(s string) time.Time // see ParseDate
	// LocalDate reads a date written in the host's time zone (the zone the
	// engine read from the host's log, else UTC); TZAssumed says which.
	LocalDate   func(s string) time.Time
	TZAssumed   func() string
	DaysUntil   func(t time.Time) float64 // days from Now to t; 0 for a zero t
	DaysBetween func(a, b time.Time) float64
	Duration    func(s string) time.Duration // Go duration or "Nd"; 0 when bad
	Lower       func(s string) string
	Upper       func(s string) string
	Contains    func(s, sub string) bool    // case-insensitive, as Windows names are
	Cfg         func(name string) string    // Config[name]; "" when unset
	CalType     func(product string) string // "per-user", "per-device", "per-session" or ""
	CalVersion  func(product string) string // "2016", "2008r2"… or ""
	// CfgOf reads another host's configuration (a license server event
	// naming the session host it refused).
	CfgOf func(host, name string) string

	// zone is the host's time zone for LocalDate (SetZone); nil: unknown.
	zone *Zone

	// hosts and fallback are what CfgOf reads (SetHostConfig).
	hosts    map[string]map[string]string
	fallback map[string]string

	classes classIndex
}

// FactEnv is the environment of facts: the last matching event's fields
// (directly and as Last) plus what the finding accumulated. First is the
// earliest matching event: in a sequence, the step that names what the
// later steps only imply (the license server's 21 before the host's 1011).
type FactEnv struct {
	Env
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
	Distinct  []string
	Groups    map[string]string
	Last      Event
	First     Event
}

func newEnv(classes classIndex) *Env {
	e := &Env{classes: classes}
	e.bind()
	return e
}

// bind points the helper fields at this Env.
func (e *Env) bind() {
	e.Param = func(n int) string { return e.Event.Param(n) }
	e.HasParam = func(n int) bool { return e.Event.HasParam(n) }
	e.DataValue = func(name string) string { return e.Data[name] }
	e.Is = func(class string) bool { return e.classes.has(class, e.Provider, e.EventID) }
	e.ParseDate = ParseDate
	e.LocalDate = func(s string) time.Time { return ParseLocalDate(s, e.zone) }
	e.TZAssumed = func() string { return e.zone.Assumed() }
	e.DaysUntil = func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return days(t.Sub(e.Now))
	}
	e.DaysBetween = func(a, b time.Time) float64 {
		if a.IsZero() || b.IsZero() {
			return 0
		}
		return days(b.Sub(a))
	}
	e.Duration = func(s string) time.Duration {
		d, err := ParseDuration(s)
		if err != nil {
			return 0
		}
		return d
	}
	e.Cfg = func(name string) string { return e.Config[name] }
	e.CalType = CalType
	e.CalVersion = CalVersion
	e.CfgOf = func(host, name string) string { return e.ConfigOf(host)[name] }
	e.Lower = strings.ToLower
	e.Upper = strings.ToUpper
	e.Contains = func(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }
}

// SetHostConfig gives the environment every host's configuration (keyed by
// HostKey) and the one for hosts without their own.
func (e *Env) SetHostConfig(fallback map[string]string, hosts map[string]map[string]string) {
	e.fallback, e.hosts = fallback, hosts
}

// SetZone sets the time zone LocalDate reads dates in (nil: unknown, UTC).
func (e *Env) SetZone(z *Zone) { e.zone = z }

// ConfigOf is the configuration of computer: its own, else the fallback.
func (e *Env) ConfigOf(computer string) map[string]string {
	if c, ok := e.hosts[HostKey(computer)]; ok {
		return c
	}
	return e.fallback
}

// HostKey is the form host configuration is keyed by: the short name in
// upper case (NetBIOS style), so rdsh01.contoso.local and RDSH01 meet.
func HostKey(computer string) string {
	short, _, _ := strings.Cut(strings.TrimSpace(computer), ".")
	return strings.ToUpper(short)
}

func days(d time.Duration) float64 { return d.Hours() / 24 }

// ref is a (provider, id) key; providers compare case-insensitively.
type ref struct {
	provider string
	id       int
}

func refOf(provider string, id int) ref { return ref{strings.ToLower(provider), id} }

// classIndex maps class name -> member events.
type classIndex map[string]map[ref]struct{}

func (c classIndex) has(class, provider string, id int) bool {
	_, ok := c[class][refOf(provider, id)]
	return ok
}
