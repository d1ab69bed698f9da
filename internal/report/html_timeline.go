package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

// The incident timeline puts every finding on one time axis, one lane per
// host: which trouble came first, and where. It is HTML and CSS (positions
// in percent of the axis), not SVG, so host names and labels stay at the
// reader's text size at any width and wrap like text.

type tlView struct {
	Start, End       tlTick
	Ticks            []tlTick // between Start and End
	Lanes            []tlLane
	Span             string // "17 days 5 hours"
	StartISO, EndISO string
}

type tlTick struct {
	Pos   float64 // percent of the axis
	ISO   string
	Label string
}

type tlLane struct {
	Host string
	Rows []tlRow
}

type tlRow struct {
	Anchor, ID, Severity, Status string
	Rank                         int
	CauseRank                    int    // rank of the cause when this is a symptom, else 0
	When                         string // "2024-01-08 02:27Z → 2024-01-25 08:10Z"
	Count                        int
	Left, Width                  float64 // percent of the axis
	FirstISO, LastISO            string
	Labels                       []string // incident labels beyond host (license_server=LS01)
	Marks                        []tlMark
	Resolved                     *tlMark
}

type tlMark struct {
	Pos        float64
	ISO, Title string
}

// minuteStamp is a time to the minute, for axis labels.
func minuteStamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04Z") }

// timelineOf lays out r's findings; nil when there is nothing to place.
func timelineOf(r *Report) *tlView {
	var t0, t1 time.Time
	for _, it := range r.Findings {
		f := it.Finding
		if f.FirstSeen.IsZero() {
			continue
		}
		if t0.IsZero() || f.FirstSeen.Before(t0) {
			t0 = f.FirstSeen
		}
		for _, t := range []time.Time{f.LastSeen, f.ResolvedAt} {
			if t.After(t1) {
				t1 = t
			}
		}
	}
	if t0.IsZero() {
		return nil
	}
	if !t1.After(t0) {
		// One instant: an axis of one hour around it, so it has a place.
		t0, t1 = t0.Add(-30*time.Minute), t0.Add(30*time.Minute)
	}
	span := t1.Sub(t0)
	pos := func(t time.Time) float64 { return float64(t.Sub(t0)) / float64(span) * 100 }
	v := &tlView{Start: tlTick{0, t0.UTC().Format(time.RFC3339), minuteStamp(t0)},
		End:  tlTick{100, t1.UTC().Format(time.RFC3339), minuteStamp(t1)},
		Span: durationText(span), StartISO: t0.UTC().Format(time.RFC3339), EndISO: t1.UTC().Format(time.RFC3339)}
	v.Ticks = midnightTicks(t0, t1, pos)
	lanes := map[string]*tlLane{}
	var order []string
	for _, it := range r.Findings {
		f := it.Finding
		if f.FirstSeen.IsZero() {
			continue
		}
		host := hostOf(f)
		if host == "" {
			host = "(no host)"
		}
		if lanes[host] == nil {
			lanes[host] = &tlLane{Host: printable(host)}
			order = append(order, host)
		}
		last := f.LastSeen
		if last.Before(f.FirstSeen) {
			last = f.FirstSeen
		}
		row := tlRow{Anchor: fmt.Sprintf("f%d", f.Rank), ID: f.ID, Severity: f.Severity, Status: statusOf(f), Rank: f.Rank,
			When: minuteStamp(f.FirstSeen) + " → " + minuteStamp(last), Count: f.Count,
			Left: pos(f.FirstSeen), Width: pos(last) - pos(f.FirstSeen),
			FirstISO: f.FirstSeen.UTC().Format(time.RFC3339), LastISO: last.UTC().Format(time.RFC3339)}
		for _, k := range sortedKeys(f.Group) {
			if k != "host" {
				row.Labels = append(row.Labels, printable(k+"="+f.Group[k]))
			}
		}
		if c := r.causeOf(f); c != nil {
			row.CauseRank = c.Rank
		}
		for _, e := range f.Evidence {
			if e.Time.IsZero() {
				continue
			}
			row.Marks = append(row.Marks, tlMark{Pos: pos(e.Time), ISO: e.Time.UTC().Format(time.RFC3339),
				Title: fmt.Sprintf("%s %s %d", stamp(e.Time), shortProvider(e.Provider), e.EventID)})
		}
		if !f.ResolvedAt.IsZero() {
			row.Resolved = &tlMark{Pos: pos(f.ResolvedAt), ISO: f.ResolvedAt.UTC().Format(time.RFC3339), Title: "resolved at " + stamp(f.ResolvedAt)}
		}
		lanes[host].Rows = append(lanes[host].Rows, row)
	}
	// Lanes in the order their first trouble began: the story reads down.
	sort.SliceStable(order, func(i, j int) bool {
		return earliest(lanes[order[i]]) < earliest(lanes[order[j]])
	})
	for _, h := range order {
		v.Lanes = append(v.Lanes, *lanes[h])
	}
	return v
}

func earliest(l *tlLane) float64 {
	m := 101.0
	for _, r := range l.Rows {
		m = min(m, r.Left)
	}
	return m
}

// midnightTicks labels a few UTC midnights between t0 and t1, none close
// enough to an end (or to each other) for the labels to collide.
func midnightTicks(t0, t1 time.Time, pos func(time.Time) float64) []tlTick {
	const maxTicks, minGap = 4, 18.0 // percent of the axis
	days := t1.Sub(t0).Hours() / 24
	step := 1
	for _, s := range []int{1, 2, 7, 14, 30, 61, 91, 182, 365} {
		step = s
		if days/float64(s) <= maxTicks {
			break
		}
	}
	var out []tlTick
	lastPos := 0.0
	for d := truncDay(t0).AddDate(0, 0, 1); d.Before(t1); d = d.AddDate(0, 0, step) {
		p := pos(d)
		if p-lastPos < minGap || 100-p < minGap {
			continue
		}
		out = append(out, tlTick{p, d.Format(time.RFC3339), day(d)})
		lastPos = p
	}
	return out
}

// statusOf is a finding's status, "active" when the engine left it empty.
func statusOf(f engine.Finding) string { return orDefault(f.Status, "active") }

// spanText says how long the axis is, in days and hours.
func spanText(d time.Duration) string {
	days, hours := int(d.Hours())/24, int(d.Hours())%24
	var parts []string
	if days > 0 {
		parts = append(parts, plural(days, "day"))
	}
	if hours > 0 || days == 0 {
		parts = append(parts, plural(hours, "hour"))
	}
	return strings.Join(parts, " ")
}
