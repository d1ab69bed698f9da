package main

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// htmlScenarios are the demo-like cases the page is checked on: one cause
// with three symptoms across three hosts, and two hosts with two license
// servers.
var htmlScenarios = []string{"cal-pool-exhausted-2016", "multi-host-forwarded-2019"}

// scanScenarioHTML writes a scenario with `tsdiag gen` and renders it with
// `tsdiag scan --format html`, an absolute input path and a title and case.
func scanScenarioHTML(t *testing.T, id string, extra ...string) (page, evtx string) {
	t.Helper()
	dir := t.TempDir()
	evtx = filepath.Join(dir, "case-files", id+".evtx")
	if err := os.MkdirAll(filepath.Dir(evtx), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := genCLI(t, "gen", id, "-o", evtx); code != 0 {
		t.Fatalf("gen %s: %s", id, stderr)
	}
	page = filepath.Join(dir, id+".html")
	args := append([]string{"scan", "--fail-on", "none", "--format", "html", "-o", page,
		"--title", "Contoso RDS licensing review", "--case", "CASE-2024-0117 · Contoso Ltd"}, extra...)
	if code, _, stderr := scanCLI(t, "", append(args, evtx)...); code != 0 {
		t.Fatalf("scan %s: exit %d: %s", id, code, stderr)
	}
	return page, evtx
}

// The header flags reach the page from the CLI; the scanning machine's
// directories do not, unless --full-paths.
func TestScanHTMLHeaderFlags(t *testing.T) {
	page, evtx := scanScenarioHTML(t, "cal-pool-exhausted-2016")
	data, _ := os.ReadFile(page)
	s := string(data)
	for _, want := range []string{`<h1 id="title">Contoso RDS licensing review</h1>`, `<p id="case"><strong>Case:</strong> CASE-2024-0117 · Contoso Ltd</p>`,
		`<code class="input">cal-pool-exhausted-2016.evtx</code>`} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if dir := filepath.Dir(evtx); strings.Contains(s, dir) {
		t.Errorf("page shows the directory %s", dir)
	}
	page, evtx = scanScenarioHTML(t, "cal-pool-exhausted-2016", "--full-paths")
	data, _ = os.ReadFile(page)
	if !strings.Contains(string(data), `<code class="input">`+html.EscapeString(evtx)+`</code>`) {
		t.Errorf("--full-paths: page lacks the input's path %s", evtx)
	}
}

// measureScript is added to a copy of the page (the page itself has no
// script): it reports the viewport width, the document's scroll width and
// every element whose right edge passes the viewport.
const measureScript = `<script>(function(){var d=document.documentElement,w=d.clientWidth,bad=[];
document.querySelectorAll("body *").forEach(function(e){var r=e.getBoundingClientRect();if(r.width>0&&r.right>w+0.5)bad.push(e.tagName.toLowerCase()+"."+e.className+" right="+Math.round(r.right));});
var o=document.createElement("pre");o.id="measure";o.style.whiteSpace="pre-wrap";
var tick=0;document.querySelectorAll("svg text.tick").forEach(function(e){var px=parseFloat(getComputedStyle(e).fontSize)*e.ownerSVGElement.getScreenCTM().a;if(tick===0||px<tick)tick=px;});
o.textContent=JSON.stringify({client:w,scroll:d.scrollWidth,bad:bad.slice(0,12),tick:tick});document.body.appendChild(o);})();</script>`

type measure struct {
	Client int      `json:"client"`
	Scroll int      `json:"scroll"`
	Bad    []string `json:"bad"`
	// Tick is the smallest chart axis label as drawn, in CSS px: the
	// charts scale with the page, their labels must stay readable.
	Tick float64 `json:"tick"`
}

// minTickPx is the smallest axis label the page may draw at any width.
const minTickPx = 11.5

// At 600, 840 and 1280 px and in print the page needs no sideways scrolling and no element
// passes the right edge; screenshots of both widths are kept
// (TSDIAG_SCREENSHOT_DIR, else a temporary directory) for a person to look
// at.
func TestHTMLLayoutInChromium(t *testing.T) {
	browser := chromium(t)
	shots := os.Getenv("TSDIAG_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	for _, id := range htmlScenarios {
		page, _ := scanScenarioHTML(t, id)
		data, _ := os.ReadFile(page)
		probe := strings.TrimSuffix(page, ".html") + ".measure.html"
		withScript := strings.Replace(string(data), "</body>", measureScript+"</body>", 1)
		if err := os.WriteFile(probe, []byte(withScript), 0o644); err != nil {
			t.Fatal(err)
		}
		// Print: the page's print rules forced on screen, in a window as
		// wide as an A4 page's printable width at 96 dpi (about 700 px).
		printProbe := strings.TrimSuffix(page, ".html") + ".print.html"
		if !strings.Contains(withScript, "@media print {") {
			t.Fatal("the page has no print rules")
		}
		// Rules for narrow screens do not apply on paper.
		asPrint := strings.NewReplacer("@media print {", "@media all {", "@media screen and", "@media print and").Replace(withScript)
		if err := os.WriteFile(printProbe, []byte(asPrint), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(id+"/print", func(t *testing.T) {
			checkNoOverflow(t, browser, printProbe, 700)
		})
		// 840: just wider than where the tables stop being stacked.
		for _, width := range []int{600, 840, 1280} {
			t.Run(fmt.Sprintf("%s/%d", id, width), func(t *testing.T) {
				checkNoOverflow(t, browser, probe, width)
				if width == 840 {
					return
				}
				shot := filepath.Join(shots, fmt.Sprintf("%s-%d.png", id, width))
				height := map[int]int{600: 4200, 1280: 2600}[width]
				runChromium(t, browser, append(chromiumArgs(t), fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", "--screenshot="+shot, "file://"+page)...)
				if st, err := os.Stat(shot); err != nil || st.Size() < 20_000 {
					t.Errorf("screenshot %s: %v (a blank page is tiny)", shot, err)
				}
			})
		}
	}
}

// checkNoOverflow opens a measuring copy of a page at width px and fails
// when the document is wider than the viewport or an element passes it.
func checkNoOverflow(t *testing.T, browser, probe string, width int) {
	t.Helper()
	dom := runChromium(t, browser, append(chromiumArgs(t), fmt.Sprintf("--window-size=%d,1000", width), "--dump-dom", "file://"+probe)...)
	m := regexp.MustCompile(`(?s)<pre id="measure"[^>]*>(.*?)</pre>`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no measurement in the DOM (%d bytes)", len(dom))
	}
	var got measure
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &got); err != nil {
		t.Fatalf("measurement %q: %v", m[1], err)
	}
	// The viewport is the window less a scroll bar, at most.
	if got.Client > width || got.Client < width-40 {
		t.Fatalf("viewport %d px in a %d px window: the window size did not apply", got.Client, width)
	}
	t.Logf("%d px: smallest axis label %.1f px", width, got.Tick)
	if got.Tick == 0 || got.Tick < minTickPx {
		t.Errorf("chart axis labels drawn at %.1f px at %d px, want at least %.1f", got.Tick, width, minTickPx)
	}
	if got.Scroll > got.Client || len(got.Bad) > 0 {
		t.Errorf("horizontal overflow at %d px: document %d px wide in a %d px viewport; past the edge: %v", width, got.Scroll, got.Client, got.Bad)
	}
}
