package report

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

// Chart geometry, in the SVG's own units. The SVG scales to the width of
// its box (CSS width:100%), so these are proportions, not screen pixels.
const (
	chartW                                          = 720
	chartLeft, chartRight, chartTop, chartBottom    = 48, 8, 12, 24 // room for a five-digit peak at 16px
	chartMaxTicks, chartMinTickGap, chartLabelWidth = 6, 40.0, 86.0 // a date at 16px, the narrow pages' size
)

// svgBars draws events per UTC day on a time axis: a day is as wide as
// every other day, so the bars always fill the axis from its first date
// (left edge) to its last (right edge) and a gap of quiet days shows as
// one. Long spans fold several days into one bar (dayRange), drawn as wide
// as the days it holds. Each bar carries its dates and count (data-*
// attributes and a <title> tooltip) so the geometry can be checked.
func svgBars(b []engine.Bucket, label string, height int) template.HTML {
	slots := dayRange(b, 120)
	if len(slots) == 0 {
		return template.HTML(`<p class="muted">No events.</p>`)
	}
	first := slots[0].From
	days := dayDiff(first, slots[len(slots)-1].To) + 1
	peak := 0
	for _, s := range slots {
		peak = max(peak, s.Count)
	}
	plotW, plotH := float64(chartW-chartLeft-chartRight), float64(height-chartTop-chartBottom)
	dayW := plotW / float64(days)
	xOf := func(t time.Time) float64 { return chartLeft + float64(dayDiff(first, t))*dayW }
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" data-first="%s" data-days="%d" data-peak="%d" data-plot="%d %d %.0f %.0f">`,
		chartW, height, chartW, height, html.EscapeString(label), day(first), days, peak, chartLeft, chartTop, plotW, plotH)
	fmt.Fprintf(&sb, `<title>%s</title>`, html.EscapeString(label))
	base := float64(chartTop) + plotH
	fmt.Fprintf(&sb, `<line x1="%d" y1="%d" x2="%.0f" y2="%d" class="grid"/>`, chartLeft, chartTop, chartLeft+plotW, chartTop)
	fmt.Fprintf(&sb, `<text x="%d" y="%d" class="tick" text-anchor="end">%d</text>`, chartLeft-4, chartTop+4, peak)
	fmt.Fprintf(&sb, `<text x="%d" y="%.0f" class="tick" text-anchor="end">0</text>`, chartLeft-4, base)
	// A thin gap between neighbouring bars only when a day is wide enough
	// to spare it; it is taken inside the bar, never from its neighbour.
	inset := 0.0
	if dayW >= 4 {
		inset = 0.5
	}
	for _, s := range slots {
		if s.Count == 0 {
			continue
		}
		h := max(1.0, float64(s.Count)*plotH/float64(peak))
		x0, x1 := xOf(s.From), xOf(s.To)+dayW
		fmt.Fprintf(&sb, `<rect class="bar" data-from="%s" data-to="%s" data-count="%d" x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %d</title></rect>`,
			day(s.From), day(s.To), s.Count, x0+inset, base-h, x1-x0-2*inset, h, html.EscapeString(s.label()), s.Count)
	}
	fmt.Fprintf(&sb, `<line x1="%d" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`, chartLeft, base, chartLeft+plotW, base)
	writeDayTicks(&sb, first, days, dayW, base)
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

// writeDayTicks labels the first day at the left edge and the last at the
// right edge (each under its own bar), and a few days between, centred
// under theirs, where they do not crowd the ends.
func writeDayTicks(sb *strings.Builder, first time.Time, days int, dayW, base float64) {
	y := base + 16
	last := first.AddDate(0, 0, days-1)
	fmt.Fprintf(sb, `<text x="%d" y="%.0f" class="tick day-tick" data-day="%s" text-anchor="start">%s</text>`, chartLeft, y, day(first), day(first))
	if days == 1 {
		return
	}
	end := float64(chartLeft) + float64(days)*dayW
	fmt.Fprintf(sb, `<text x="%.2f" y="%.0f" class="tick day-tick" data-day="%s" text-anchor="end">%s</text>`, end, y, day(last), day(last))
	step := 1
	for _, s := range []int{1, 2, 7, 14, 30, 61, 91, 182, 365} {
		step = s
		if days/s <= chartMaxTicks {
			break
		}
	}
	for i := step; i < days-1; i += step {
		x := float64(chartLeft) + (float64(i)+0.5)*dayW
		if x-chartLabelWidth/2 < chartLeft+chartLabelWidth+chartMinTickGap/4 || x+chartLabelWidth/2 > end-chartLabelWidth-chartMinTickGap/4 {
			continue
		}
		d := first.AddDate(0, 0, i)
		fmt.Fprintf(sb, `<line x1="%.2f" y1="%.0f" x2="%.2f" y2="%.0f" class="axis"/>`, x, base, x, base+3)
		fmt.Fprintf(sb, `<text x="%.2f" y="%.0f" class="tick day-tick" data-day="%s" text-anchor="middle">%s</text>`, x, y, day(d), day(d))
	}
}

// dayDiff counts whole UTC days from a to b.
func dayDiff(a, b time.Time) int {
	return int(truncDay(b).Sub(truncDay(a)).Hours()/24 + 0.5)
}
