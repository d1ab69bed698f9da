package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// dateLayouts are tried in order after the numeric forms. Windows formats
// dates with the writing system's locale, so messages carry ISO dates, US
// short and long dates, and European dotted/slashed dates.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"Monday, January 2, 2006 3:04:05 PM",
	"Monday, January 2, 2006",
	"Monday, 2 January 2006",
	"January 2, 2006 3:04:05 PM",
	"January 2, 2006",
	"2 January 2006",
	"Mon Jan 2 15:04:05 2006",
}

// ParseDate reads a date written into an event message and returns it in
// UTC, or the zero time when s is not a date it knows.
//
// Numeric forms with a time part ("04/15/2021 10:00:00 AM", "15.04.2021
// 10:00") are accepted; the time is taken as UTC because messages carry no
// zone.
//
// Ambiguity: "a/b/yyyy" is read month first (en-US, the locale of almost
// every server that writes these messages) unless a > 12, in which case it
// is day first ("15/04/2021"). "a.b.yyyy" (German, Russian, …) and
// "a-b-yyyy" with a two-digit first field are always day first. Windows'
// invisible left-to-right marks (U+200E, U+200F) are removed first.
func ParseDate(s string) time.Time {
	s = cleanDate(s)
	if s == "" {
		return time.Time{}
	}
	if t, ok := parseNumericDate(s); ok {
		return t
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func cleanDate(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\u200e', '\u200f', '\u202a', '\u202c':
			return -1
		case '\u00a0', '\u202f':
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "."))
	return strings.Join(strings.Fields(s), " ")
}

// parseNumericDate handles d/m/y-style dates with an optional time.
func parseNumericDate(s string) (time.Time, bool) {
	datePart, timePart, _ := strings.Cut(s, " ")
	sep := ""
	for _, c := range []string{"/", ".", "-"} {
		if strings.Count(datePart, c) == 2 {
			sep = c
			break
		}
	}
	if sep == "" {
		return time.Time{}, false
	}
	f := strings.Split(datePart, sep)
	a, errA := strconv.Atoi(f[0])
	b, errB := strconv.Atoi(f[1])
	y, errY := strconv.Atoi(f[2])
	if errA != nil || errB != nil || errY != nil || len(f[2]) != 4 {
		return time.Time{}, false // includes ISO yyyy-mm-dd, handled by layouts
	}
	month, day := a, b
	if sep != "/" || a > 12 {
		month, day = b, a
	}
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return time.Time{}, false
	}
	h, m, sec, ok := parseClock(timePart)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(month), day, h, m, sec, 0, time.UTC)
	if t.Day() != day { // 31 April and the like
		return time.Time{}, false
	}
	return t, true
}

// parseClock reads "", "10:00", "10:00:00", "10:00:00 AM", "10:00 PM".
func parseClock(s string) (h, m, sec int, ok bool) {
	if s == "" {
		return 0, 0, 0, true
	}
	clock, ampm, _ := strings.Cut(s, " ")
	parts := strings.Split(clock, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	n := make([]int, 3)
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil {
			return 0, 0, 0, false
		}
		n[i] = v
	}
	h, m, sec = n[0], n[1], n[2]
	switch strings.ToUpper(ampm) {
	case "":
	case "AM":
		if h == 12 {
			h = 0
		}
	case "PM":
		if h < 12 {
			h += 12
		}
	default:
		return 0, 0, 0, false
	}
	if h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

// ParseDuration accepts a Go duration ("90m", "36h") or whole/fractional
// days ("14d", "1.5d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("bad duration %q (want e.g. 14d or 36h)", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q (want e.g. 14d or 36h)", s)
	}
	return d, nil
}

// ZoneEvents are the events a host's time zone is read from (EventLog 6013,
// "The system uptime is N seconds.", whose last insertion string is the
// zone as "<bias minutes> <zone name>", e.g. "300 Eastern Standard Time").
// Every set's Filter keeps them for the decoder.
var ZoneEvents = []EventRef{{Provider: "eventlog", ID: 6013}}

var zoneFieldRe = regexp.MustCompile(`^(-?\d{1,4}) (\S.*)$`)

// Zone is a host's time zone as its log reveals it.
type Zone struct {
	Offset time.Duration // east of UTC (Windows writes the bias: UTC = local + bias)
	Name   string        // as Windows wrote it ("Eastern Standard Time")
	Source string        // where it was read ("EventLog 6013")
}

// ZoneOf reads the time zone an event reveals, if any: the last insertion
// string of EventLog 6013 of the form "<bias> <name>". The bias is minutes
// west of UTC, so 300 is UTC-05:00.
func ZoneOf(provider string, id uint16, params []string) (Zone, bool) {
	if id != 6013 || !strings.EqualFold(provider, "EventLog") {
		return Zone{}, false
	}
	for i := len(params) - 1; i >= 0; i-- {
		m := zoneFieldRe.FindStringSubmatch(strings.TrimSpace(params[i]))
		if m == nil {
			continue
		}
		bias, err := strconv.Atoi(m[1])
		if err != nil || bias < -14*60 || bias > 14*60 {
			return Zone{}, false
		}
		return Zone{Offset: -time.Duration(bias) * time.Minute, Name: m[2], Source: "EventLog 6013"}, true
	}
	return Zone{}, false
}

// Assumed describes the offset a local date was read in, for the finding.
func (z *Zone) Assumed() string {
	if z == nil {
		return "UTC (unknown)"
	}
	return fmt.Sprintf("%s (%s, from %s)", offsetText(z.Offset), z.Name, z.Source)
}

func offsetText(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}

// ParseLocalDate reads a date Windows wrote in the host's local time: the
// wall time of ParseDate shifted by the zone's offset (nil: UTC).
func ParseLocalDate(s string, z *Zone) time.Time {
	t := ParseDate(s)
	if t.IsZero() || z == nil {
		return t
	}
	return t.Add(-z.Offset)
}
