package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Independent checks of the outputs: Microsoft's SARIF multitool validates
// the SARIF, headless Chromium renders the HTML. CI installs both
// (.ci/run); elsewhere the tests say they skipped and why.

func sarifMultitool(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TSDIAG_SARIF_MULTITOOL"); p != "" {
		return p
	}
	root, _ := filepath.Abs("../..")
	if p := filepath.Join(root, ".ci/tools/node_modules/.bin/sarif-multitool"); isExec(p) {
		return p
	}
	if p, err := exec.LookPath("sarif-multitool"); err == nil {
		return p
	}
	t.Skip("SARIF multitool not found: npm install --prefix .ci/tools @microsoft/sarif-multitool, or set TSDIAG_SARIF_MULTITOOL")
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

func TestSARIFValidatesWithMultitool(t *testing.T) {
	tool := sarifMultitool(t)
	farmDir(t)
	dir, _ := os.Getwd()
	for name, args := range map[string][]string{
		"farm":       {"farm.xml", "healthy.xml"},
		"suppressed": {"--suppress", "accept.toml", "farm.xml", "missing.evtx"},
		"healthy":    {"healthy.xml"},
		// A window that set events aside is a warning notification.
		"window":       {"--since", "1d", "farm.xml"},
		"empty-window": {"--since", "1d", "--now", "2030-01-01", "farm.xml"},
	} {
		t.Run(name, func(t *testing.T) {
			writeFixtureFile(t, "accept.toml", "[[suppress]]\ndiagnosis = \"invalid-client-license\"\nreason = \"r\"\nexpires = 2099-01-01\n")
			out := filepath.Join(dir, name+".sarif")
			code, _, stderr := scanCLI(t, "", append([]string{"scan", "--keep-going", "--fail-on", "none", "--format", "sarif", "-o", out}, args...)...)
			if code != 0 {
				t.Fatalf("scan exit %d: %s", code, stderr)
			}
			checkSARIF(t, tool, out)
		})
	}
}

// checkSARIF runs `sarif-multitool validate` and fails on every error or
// warning it reports (its output is itself a SARIF log).
func checkSARIF(t *testing.T, tool, file string) {
	t.Helper()
	result := file + ".validation.sarif"
	cmd := exec.Command(tool, "validate", file, "--output", result)
	cmd.Dir = filepath.Dir(file)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sarif-multitool validate: %v\n%s", err, msg)
	}
	data, err := os.ReadFile(result)
	if err != nil {
		t.Fatalf("no validation output (%v):\n%s", err, msg)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text      string   `json:"text"`
					Arguments []string `json:"arguments"`
				} `json:"message"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("validation output: %v", err)
	}
	for _, run := range log.Runs {
		for _, r := range run.Results {
			if r.Level == "" || r.Level == "error" || r.Level == "warning" {
				t.Errorf("%s %s: %v", r.RuleID, r.Level, r.Message.Arguments)
			}
		}
	}
	if !strings.Contains(string(msg), "Analysis completed successfully") {
		t.Errorf("multitool did not complete:\n%s", msg)
	}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("headless Chromium not found: apt-get install -y chromium")
	return ""
}

func chromiumArgs(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
}

func TestHTMLRendersInChromium(t *testing.T) {
	browser := chromium(t)
	farmDir(t)
	code, _, stderr := scanCLI(t, "", "scan", "--format", "html", "-o", "report.html", "farm.xml", "healthy.xml")
	if code != 1 {
		t.Fatalf("scan exit %d: %s", code, stderr)
	}
	page, _ := filepath.Abs("report.html")
	html, _ := os.ReadFile(page)
	// Self-contained: nothing the page loads comes from elsewhere. The
	// articles' references are links the reader may follow, not resources.
	links := regexp.MustCompile(`<a href="https://[^"<>]+">`)
	page0 := links.ReplaceAllString(strings.ReplaceAll(string(html), `xmlns="http://www.w3.org/2000/svg"`, ""), "<a>")
	if !links.MatchString(string(html)) {
		t.Error("no reference links in the page")
	}
	for _, banned := range []string{"<script", "http://", "https://", "@import", "url(", " src="} {
		if i := strings.Index(page0, banned); i >= 0 {
			t.Errorf("page references %q: it must be self-contained: …%s…", banned, page0[max(0, i-120):min(len(page0), i+80)])
		}
	}
	dom := runChromium(t, browser, append(chromiumArgs(t), "--dump-dom", "file://"+page)...)
	for _, want := range []string{
		`id="f1" data-diagnosis="rdsh-certificate-invalid" data-rank="1"`,
		`data-diagnosis="grace-period-expiring" data-rank="2"`,
		`data-diagnosis="invalid-client-license" data-rank="3"`,
		`<svg class="chart"`, `class="bar"`, "What to do, in order", "reg export",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	// One histogram for the whole input plus one timeline per finding.
	if n := strings.Count(dom, `<svg class="chart"`); n != 4 {
		t.Errorf("%d charts in the DOM, want 4", n)
	}
	shot := filepath.Join(os.Getenv("TSDIAG_SCREENSHOT_DIR"), "report.png")
	if os.Getenv("TSDIAG_SCREENSHOT_DIR") == "" {
		shot = filepath.Join(t.TempDir(), "report.png")
	}
	runChromium(t, browser, append(chromiumArgs(t), "--screenshot="+shot, "--window-size=1100,1800", "file://"+page)...)
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Errorf("screenshot %s: %v (a blank page is tiny)", shot, err)
	}
}

func runChromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	cmd := exec.Command(browser, args...)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, cmd.Stderr)
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatal("chromium did not finish in 90 s")
	}
	return out.String()
}
