package report

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/engine"
)

func renderHTML(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// withHistogram gives a scanned report the histogram the CLI computes (the
// events that reached the rules per day); here the findings' own days.
func withHistogram(r *Report) *Report {
	var h DayCounter
	for _, it := range r.Findings {
		for _, b := range it.Timeline {
			for range b.Count {
				h.Add(b.Day)
			}
		}
	}
	r.Histogram = h.Buckets()
	return r
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkChart compares one bar chart's geometry with the buckets it draws:
// each bar as wide as its days and placed by its date, so the first day
// starts at the axis' left end, the last ends at its right end, and the
// labels at the ends name those days.
func checkChart(t *testing.T, svg *node, buckets []engine.Bucket) {
	t.Helper()
	sorted := append([]engine.Bucket(nil), buckets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Day.Before(sorted[j].Day) })
	first, last := truncDay(sorted[0].Day), truncDay(sorted[len(sorted)-1].Day)
	days := int(last.Sub(first).Hours()/24) + 1
	var plot [4]float64
	if _, err := fmt.Sscanf(svg.attr["data-plot"], "%g %g %g %g", &plot[0], &plot[1], &plot[2], &plot[3]); err != nil {
		t.Fatalf("data-plot %q: %v", svg.attr["data-plot"], err)
	}
	left, top, w, h := plot[0], plot[1], plot[2], plot[3]
	if svg.attr["data-first"] != day(first) || svg.num(t, "data-days") != float64(days) {
		t.Errorf("%s: axis %s + %s days, want %s + %d", svg.attr["aria-label"], svg.attr["data-first"], svg.attr["data-days"], day(first), days)
	}
	peak := 0
	counts := map[string]int{}
	for _, b := range sorted {
		counts[day(b.Day)] += b.Count
	}
	bars := svg.all(byClass("bar"))
	total, want := 0, 0
	for _, b := range sorted {
		want += b.Count
	}
	for _, b := range bars {
		peak = max(peak, int(b.num(t, "data-count")))
	}
	dayW := w / float64(days)
	var minX, maxX float64 = math.Inf(1), math.Inf(-1)
	for _, b := range bars {
		from, _ := time.Parse(time.DateOnly, b.attr["data-from"])
		to, _ := time.Parse(time.DateOnly, b.attr["data-to"])
		n := int(b.num(t, "data-count"))
		total += n
		if from.Equal(to) && counts[day(from)] != n {
			t.Errorf("bar %s: count %d, data says %d", day(from), n, counts[day(from)])
		}
		x, bw, y, bh := b.num(t, "x"), b.num(t, "width"), b.num(t, "y"), b.num(t, "height")
		wantX0 := left + float64(dayDiff(first, from))*dayW
		wantX1 := left + float64(dayDiff(first, to)+1)*dayW
		if !near(x, wantX0, 0.51) || !near(x+bw, wantX1, 0.51) {
			t.Errorf("bar %s–%s spans x %.2f–%.2f, its days are at %.2f–%.2f", day(from), day(to), x, x+bw, wantX0, wantX1)
		}
		if wantH := max(1, float64(n)*h/float64(peak)); !near(bh, wantH, 0.01) || !near(y+bh, top+h, 0.01) {
			t.Errorf("bar %s: height %.2f at y %.2f, want %.2f on the base line %.2f", day(from), bh, y, wantH, top+h)
		}
		minX, maxX = min(minX, x), max(maxX, x+bw)
	}
	if total != want {
		t.Errorf("%s: bars hold %d events, the data %d", svg.attr["aria-label"], total, want)
	}
	if !near(minX, left, 0.51) || !near(maxX, left+w, 0.51) {
		t.Errorf("%s: bars run from %.2f to %.2f, the axis from %.2f to %.2f", svg.attr["aria-label"], minX, maxX, left, left+w)
	}
	for _, tick := range svg.all(byClass("day-tick")) {
		d, _ := time.Parse(time.DateOnly, tick.attr["data-day"])
		x := tick.num(t, "x")
		if strings.TrimSpace(tick.text.String()) != tick.attr["data-day"] {
			t.Errorf("tick text %q for day %s", tick.text.String(), tick.attr["data-day"])
		}
		switch tick.attr["text-anchor"] {
		case "start":
			if !d.Equal(first) || !near(x, left, 0.01) {
				t.Errorf("left end labelled %s at %.2f, want %s at %.2f", day(d), x, day(first), left)
			}
		case "end":
			if !d.Equal(last) || !near(x, left+w, 0.01) {
				t.Errorf("right end labelled %s at %.2f, want %s at %.2f", day(d), x, day(last), left+w)
			}
		default:
			if want := left + (float64(dayDiff(first, d))+0.5)*dayW; !near(x, want, 0.01) {
				t.Errorf("tick %s at %.2f, its day's middle is %.2f", day(d), x, want)
			}
		}
	}
}

// On logs the project writes, the histogram and every finding's chart
// place each day's bar where its date is on the axis.
func TestHTMLChartsMatchTheirData(t *testing.T) {
	for _, id := range []string{"cal-pool-exhausted-2016", "multi-host-forwarded-2019"} {
		t.Run(id, func(t *testing.T) {
			r := withHistogram(scanScenario(t, id))
			doc := parsePage(t, renderHTML(t, r))
			charts := doc.all(func(n *node) bool { return n.tag == "svg" && n.hasClass("chart") })
			if len(charts) != 1+len(r.Findings) {
				t.Fatalf("%d charts, want the histogram and one per finding (%d)", len(charts), len(r.Findings))
			}
			checkChart(t, charts[0], r.Histogram)
			for i, it := range r.Findings {
				checkChart(t, charts[i+1], it.Timeline)
			}
		})
	}
}

// The case of issue #15: ten events on ten days fill the axis instead of
// stopping halfway; a gap of quiet days keeps its width; a span too long
// for a bar per day folds days into bars as wide as the days they hold.
func TestHTMLChartShortAndLongSpans(t *testing.T) {
	start := time.Date(2024, 1, 8, 0, 0, 0, 0, time.UTC)
	var ten, gap, long []engine.Bucket
	for i := range 10 {
		ten = append(ten, engine.Bucket{Day: start.AddDate(0, 0, i), Count: 1})
	}
	gap = []engine.Bucket{{Day: start, Count: 3}, {Day: start.AddDate(0, 0, 9), Count: 1}}
	for i := 0; i < 300; i += 3 {
		long = append(long, engine.Bucket{Day: start.AddDate(0, 0, i), Count: 1 + i%5})
	}
	for name, b := range map[string][]engine.Bucket{"ten": ten, "gap": gap, "long": long} {
		t.Run(name, func(t *testing.T) {
			doc := parsePage(t, string(svgBars(b, name, 120)))
			checkChart(t, doc.one(t, "chart", byTag("svg")), b)
		})
	}
}

// The incident timeline puts every finding of the report on one axis
// whose ends are the first event and the last event (or recovery) of all
// of them, one lane per host; each span and evidence mark sits where its
// time is.
func TestHTMLTimelineMatchesData(t *testing.T) {
	for _, id := range []string{"cal-pool-exhausted-2016", "multi-host-forwarded-2019", "transient-ls-patch-reboot-2019"} {
		t.Run(id, func(t *testing.T) {
			r := scanScenario(t, id)
			doc := parsePage(t, renderHTML(t, r))
			tl := doc.one(t, "timeline", byClass("tl"))
			var t0, t1 time.Time
			for _, it := range r.Findings {
				if t0.IsZero() || it.FirstSeen.Before(t0) {
					t0 = it.FirstSeen
				}
				for _, x := range []time.Time{it.LastSeen, it.ResolvedAt} {
					if x.After(t1) {
						t1 = x
					}
				}
			}
			if tl.attr["data-start"] != t0.UTC().Format(time.RFC3339) || tl.attr["data-end"] != t1.UTC().Format(time.RFC3339) {
				t.Fatalf("axis %s → %s, the findings run %s → %s", tl.attr["data-start"], tl.attr["data-end"], t0, t1)
			}
			pos := func(s string) float64 {
				x, err := time.Parse(time.RFC3339, s)
				if err != nil {
					t.Fatal(err)
				}
				return float64(x.Sub(t0)) / float64(t1.Sub(t0)) * 100
			}
			for cls, want := range map[string]time.Time{"tl-start": t0, "tl-end": t1} {
				tick := tl.one(t, cls, byClass(cls))
				if tick.attr["data-t"] != want.UTC().Format(time.RFC3339) || tick.text.String() != minuteStamp(want) {
					t.Errorf("%s labelled %q (%s), want %s", cls, tick.text.String(), tick.attr["data-t"], minuteStamp(want))
				}
			}
			if l, e := tl.one(t, "start", byClass("tl-start")).styleNum(t, "left"), tl.one(t, "end", byClass("tl-end")).styleNum(t, "left"); l != 0 || e != 100 {
				t.Errorf("axis labels at %v%% and %v%%, want 0 and 100", l, e)
			}
			for _, tick := range tl.all(byClass("tl-mid")) {
				if got, want := tick.styleNum(t, "left"), pos(tick.attr["data-t"]); !near(got, want, 0.001) {
					t.Errorf("tick %s at %.3f%%, want %.3f%%", tick.attr["data-t"], got, want)
				}
			}
			hosts := map[string]bool{}
			seen := map[int]bool{}
			minLeft, maxRight := 100.0, 0.0
			for _, lane := range tl.all(byClass("tl-lane")) {
				host := strings.TrimSpace(lane.one(t, "host", byClass("tl-host")).text.String())
				hosts[host] = true
				for _, row := range lane.all(byClass("tl-row")) {
					rank := int(row.num(t, "data-rank"))
					it := r.Findings[rank-1]
					seen[rank] = true
					if hostOf(it.Finding) != host {
						t.Errorf("#%d (%s) in the lane of %s", rank, hostOf(it.Finding), host)
					}
					if row.attr["data-first"] != it.FirstSeen.UTC().Format(time.RFC3339) || row.attr["data-last"] != it.LastSeen.UTC().Format(time.RFC3339) {
						t.Errorf("#%d spans %s → %s, the finding %s → %s", rank, row.attr["data-first"], row.attr["data-last"], it.FirstSeen, it.LastSeen)
					}
					span := row.one(t, "span", byClass("tl-span"))
					l, w := span.styleNum(t, "left"), span.styleNum(t, "width")
					if !near(l, pos(row.attr["data-first"]), 0.001) || !near(l+w, pos(row.attr["data-last"]), 0.002) {
						t.Errorf("#%d drawn %.3f%%–%.3f%%, its times are at %.3f%%–%.3f%%", rank, l, l+w, pos(row.attr["data-first"]), pos(row.attr["data-last"]))
					}
					minLeft, maxRight = min(minLeft, l), max(maxRight, l+w)
					marks := row.all(byClass("tl-ev"))
					if len(marks) != len(it.Evidence) {
						t.Errorf("#%d: %d marks for %d evidence events", rank, len(marks), len(it.Evidence))
					}
					for _, m := range marks {
						if got, want := m.styleNum(t, "left"), pos(m.attr["data-t"]); !near(got, want, 0.001) {
							t.Errorf("#%d: mark %s at %.3f%%, want %.3f%%", rank, m.attr["data-t"], got, want)
						}
					}
					res := row.all(byClass("tl-res"))
					if it.ResolvedAt.IsZero() != (len(res) == 0) {
						t.Errorf("#%d: resolved at %v but %d resolved marks", rank, it.ResolvedAt, len(res))
					}
					for _, m := range res {
						if m.attr["data-t"] != it.ResolvedAt.UTC().Format(time.RFC3339) || !near(m.styleNum(t, "left"), pos(m.attr["data-t"]), 0.001) {
							t.Errorf("#%d: resolved mark %s at %v", rank, m.attr["data-t"], m.attr["style"])
						}
					}
				}
			}
			if len(seen) != len(r.Findings) {
				t.Errorf("%d findings on the timeline, want %d", len(seen), len(r.Findings))
			}
			want := map[string]bool{}
			for _, it := range r.Findings {
				want[hostOf(it.Finding)] = true
			}
			if len(hosts) != len(want) {
				t.Errorf("lanes %v, hosts %v", hosts, want)
			}
			if !near(minLeft, 0, 0.001) {
				t.Errorf("the first incident starts at %.3f%%, not at the axis' start", minLeft)
			}
			if !near(maxRight, pos(tl.attr["data-end"]), 0.002) && !anyResolvedAt(r, t1) {
				t.Errorf("the last incident ends at %.3f%%, not at the axis' end", maxRight)
			}
		})
	}
}

func anyResolvedAt(r *Report, t1 time.Time) bool {
	for _, it := range r.Findings {
		if it.ResolvedAt.Equal(t1) {
			return true
		}
	}
	return false
}

// One file: no script, nothing loaded from elsewhere; the only URLs are
// links to the articles' references, and every reference with an address
// is a link.
func TestHTMLSelfContainedAndLinked(t *testing.T) {
	for _, id := range []string{"cal-pool-exhausted-2016", "invalid-client-license-2019"} {
		r := withHistogram(scanScenario(t, id))
		page := renderHTML(t, r)
		// html/template writes ZgotmplZ where it refused a value (a style
		// or URL it judged unsafe): a bar without its position.
		if strings.Contains(page, "ZgotmplZ") {
			t.Errorf("%s: the template refused a value", id)
		}
		links := regexp.MustCompile(`<a href="(https://[^"<>]+)">`)
		rest := links.ReplaceAllString(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), "<a>")
		for _, banned := range []string{"<script", "javascript:", "http://", "https://", "//", "@import", "url(", " src=", "<link", "<iframe", "<object", "<img"} {
			if banned == "//" {
				// Protocol-relative addresses in attributes.
				if regexp.MustCompile(`="//`).MatchString(rest) {
					t.Errorf("%s: protocol-relative address", id)
				}
				continue
			}
			if i := strings.Index(rest, banned); i >= 0 {
				t.Errorf("%s: page holds %q: …%s…", id, banned, rest[max(0, i-80):min(len(rest), i+60)])
			}
		}
		n := 0
		for _, it := range r.Findings {
			if it.Article == nil {
				continue
			}
			for _, ref := range it.Article.References {
				if ref.URL == "" {
					continue
				}
				n++
				if want := `<a href="` + html.EscapeString(ref.URL) + `">`; !strings.Contains(page, want) && !strings.Contains(page, `<a href="`+urlEscaped(ref.URL)+`">`) {
					t.Errorf("%s: reference %q not linked", id, ref.URL)
				}
			}
		}
		if n == 0 || len(links.FindAllString(page, -1)) < n {
			t.Errorf("%s: %d links for %d references", id, len(links.FindAllString(page, -1)), n)
		}
	}
}

// urlEscaped is how html/template writes a URL in href: parentheses and
// other reserved characters percent-encoded.
func urlEscaped(u string) string {
	return strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u)
}

// Issue #14 in HTML: a cause lists its symptoms with links, a symptom is
// marked, names its cause and does not repeat the cause's steps; the table
// nests it.
func TestHTMLShowsCausesAndSymptoms(t *testing.T) {
	r := scanScenario(t, "cal-pool-exhausted-2016")
	doc := parsePage(t, renderHTML(t, r))
	cause := r.Findings[0]
	if cause.ID != "cal-pool-exhausted" || len(cause.Symptoms) == 0 {
		t.Fatalf("scenario gives %s with symptoms %v", cause.ID, cause.Symptoms)
	}
	cards := doc.all(byClass("finding"))
	if len(cards) != len(r.Findings) {
		t.Fatalf("%d cards for %d findings", len(cards), len(r.Findings))
	}
	causeOf := cards[0].one(t, "cause line", byClass("cause-of"))
	var want []string
	for _, it := range r.Findings[1:] {
		if it.CausedBy == cause.Key {
			want = append(want, fmt.Sprintf("#%d %s", it.Rank, it.ID))
		}
	}
	if got := causeOf.text.String(); got != fmt.Sprintf("Cause of %d symptoms: %s", len(want), strings.Join(want, ", ")) {
		t.Errorf("cause line %q, want the %d symptoms %v", got, len(want), want)
	}
	if len(cards[0].all(byTag("ol"))) != 1 {
		t.Error("the cause's card has no steps")
	}
	rows := doc.one(t, "findings table", byClass("findings")).all(byTag("tr"))[1:]
	for i, it := range r.Findings[1:] {
		card := cards[i+1]
		if it.CausedBy != cause.Key {
			continue
		}
		if !card.hasClass("symptom") || !strings.HasPrefix(card.one(t, "heading", byTag("h2")).text.String(), "↳ ") {
			t.Errorf("#%d is not marked as a symptom", it.Rank)
		}
		line := card.one(t, "symptom line", byClass("symptom-of"))
		if a := line.one(t, "link", byTag("a")); a.attr["href"] != "#f1" || !strings.Contains(line.text.String(), "#1 cal-pool-exhausted") {
			t.Errorf("#%d symptom line %q links %q", it.Rank, line.text.String(), a.attr["href"])
		}
		if strings.Contains(card.text.String(), "What to do, in order") || len(card.all(byTag("ol"))) > 0 {
			t.Errorf("#%d repeats steps", it.Rank)
		}
		if !rows[i+1].hasClass("symptom") || !strings.Contains(rows[i+1].text.String(), "symptom of #1") {
			t.Errorf("table row of #%d is not nested: %q", it.Rank, rows[i+1].text.String())
		}
	}
}

// Each finding says whether it is active, resolved (when, after how long)
// or transient, in the card and the table.
func TestHTMLShowsStatus(t *testing.T) {
	for id, status := range map[string]string{"transient-ls-patch-reboot-2019": "resolved", "transient-boot-failure-2016": "transient", "cal-pool-exhausted-2016": "active"} {
		r := scanScenario(t, id)
		doc := parsePage(t, renderHTML(t, r))
		for i, card := range doc.all(byClass("finding")) {
			f := r.Findings[i]
			if f.Status != status || card.attr["data-status"] != status {
				t.Errorf("%s #%d: status %q, card says %q, want %q", id, f.Rank, f.Status, card.attr["data-status"], status)
			}
			text := card.text.String()
			switch status {
			case "resolved":
				want := fmt.Sprintf("resolved at %s after %s", stamp(f.ResolvedAt), durationText(time.Duration(f.LastedSeconds)*time.Second))
				if f.ResolvedAt.IsZero() || !strings.Contains(text, want) {
					t.Errorf("%s #%d lacks %q", id, f.Rank, want)
				}
			case "transient":
				if !strings.Contains(text, "transient: below the rule's persistence threshold") {
					t.Errorf("%s #%d does not say why it is transient", id, f.Rank)
				}
			}
		}
		for _, row := range doc.one(t, "findings table", byClass("findings")).all(byTag("tr"))[1:] {
			if !strings.Contains(row.text.String(), status) {
				t.Errorf("%s: table row %q lacks %s", id, row.text.String(), status)
			}
		}
	}
}

// --title and --case head the page (escaped), input and evidence file
// names come without the scanning machine's directories unless
// --full-paths, and the table's titles are the cards'.
func TestHTMLHeaderPathsAndTitles(t *testing.T) {
	r := scanScenario(t, "cal-pool-exhausted-2016")
	dir := filepath.Dir(r.Inputs[0])
	r.Header = Header{Title: "Contoso <RDS> review", Case: "CASE-2024-0117 & Contoso Ltd"}
	page := renderHTML(t, r)
	for _, want := range []string{`<h1 id="title">Contoso &lt;RDS&gt; review</h1>`, `<p id="case"><strong>Case:</strong> CASE-2024-0117 &amp; Contoso Ltd</p>`,
		`<title>Contoso &lt;RDS&gt; review · CASE-2024-0117 &amp; Contoso Ltd: `, `<code class="input">cal-pool-exhausted-2016.evtx</code>`,
		`<td data-label="File"><code>cal-pool-exhausted-2016.evtx</code></td>`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, dir) {
		t.Errorf("page shows the scanning machine's directory %s", dir)
	}
	doc := parsePage(t, page)
	cards := doc.all(byClass("finding"))
	for i, a := range doc.one(t, "findings table", byClass("findings")).all(byClass("heading")) {
		it := r.Findings[i]
		want := it.Title
		if it.Article != nil {
			want = it.Article.Title
		}
		if a.text.String() != want || !strings.Contains(cards[i].one(t, "card heading", byTag("h2")).text.String(), " "+want+" ") {
			t.Errorf("#%d: table says %q, card %q, want %q in both", it.Rank, a.text.String(), cards[i].one(t, "h2", byTag("h2")).text.String(), want)
		}
	}
	r.Header = Header{FullPaths: true}
	page = renderHTML(t, r)
	if !strings.Contains(page, `<code class="input">`+html.EscapeString(r.Inputs[0])+`</code>`) || !strings.Contains(page, `<h1 id="title">`+DefaultHTMLTitle+`</h1>`) || strings.Contains(page, `id="case"`) {
		t.Error("--full-paths does not show the input's path, or the default header is wrong")
	}
}

// Severities differ by more than hue, so a grey-scale print tells them
// apart: with every colour replaced by one token, each severity's badge
// (with its ::before mark) and timeline bar still differ from the others',
// and the badge carries the severity's name.
func TestHTMLSeveritiesDifferWithoutColour(t *testing.T) {
	colour := regexp.MustCompile(`#[0-9a-fA-F]{3,6}\b|var\(--[a-z]+\)`)
	rules := func(selector string) string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(selector)+`(::before)? \{([^}]*)\}`).FindAllStringSubmatch(pageCSS, -1) {
			out = append(out, m[1]+colour.ReplaceAllString(m[2], "C"))
		}
		return strings.Join(out, "|")
	}
	for _, prefix := range []string{".sev-", ".sp-"} {
		seen := map[string]string{}
		for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
			sig := rules(prefix + sev)
			if sig == "" {
				t.Fatalf("no CSS rule for %s%s", prefix, sev)
			}
			if other, dup := seen[sig]; dup {
				t.Errorf("%s%s and %s%s differ only in colour: %s", prefix, sev, prefix, other, sig)
			}
			seen[sig] = sev
		}
	}
	page := renderHTML(t, scanScenario(t, "cal-pool-exhausted-2016"))
	for _, sev := range []string{"critical", "high", "medium"} {
		if !strings.Contains(page, `<span class="sev sev-`+sev+`">`+sev+`</span>`) {
			t.Errorf("no %s badge carrying its name", sev)
		}
	}
}

// The timeline's caption says how long its axis is in a unit that fits:
// minutes for a short outage, days and hours for a long one.
func TestHTMLTimelineSpanCaption(t *testing.T) {
	for id, want := range map[string]string{"transient-ls-patch-reboot-2019": "(UTC, 4 minutes)", "cal-pool-exhausted-2016": "(UTC, 13 days 12 hours)"} {
		if page := renderHTML(t, scanScenario(t, id)); !strings.Contains(page, want) {
			t.Errorf("%s: timeline caption lacks %q", id, want)
		}
	}
}
