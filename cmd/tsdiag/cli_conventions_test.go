package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// TestMain lets a test run this package's main as a child process (under a
// pseudo-terminal, or from a README command) without building a binary:
// with TSDIAG_RUN_MAIN=1 the test binary is tsdiag.
func TestMain(m *testing.M) {
	if os.Getenv("TSDIAG_RUN_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// columns is how wide a line shows on a terminal.
func columns(line string) int { return utf8.RuneCountInString(ansi.ReplaceAllString(line, "")) }

func TestVersionFlag(t *testing.T) {
	code, out, _ := genCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "tsdiag ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("--version: exit %d %q", code, out)
	}
}

// A bare tsdiag prints help and exits 2: in a script it is a mistake.
func TestBareTsdiagIsUsageError(t *testing.T) {
	code, out, stderr := genCLI(t)
	if code != 2 || out != "" || !strings.Contains(stderr, "Usage:") || !strings.Contains(stderr, "scan") {
		t.Fatalf("bare tsdiag: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if code, _, _ := genCLI(t, "help"); code != 0 {
		t.Errorf("tsdiag help: exit %d, want 0", code)
	}
}

// Help states each default once, on every command: a flag whose usage
// already names its default must not get pflag's "(default X)" as well
// (scan --format once read "(default from the -o extension, else text)
// (default "text")", events --workers "the default is GOMAXPROCS ...
// (default 2)").
func TestHelpDefaultsOnce(t *testing.T) {
	_, out, _ := genCLI(t, "scan", "--help")
	if strings.Contains(out, `(default "text")`) || strings.Count(out, "extension names, else text") != 1 {
		t.Errorf("scan --help --format line:\n%s", grepLine(out, "--format"))
	}
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk(newRoot(io.Discard, io.Discard), nil)
	if len(paths) < 12 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	flagLine := regexp.MustCompile(`^\s+(-\w, )?--[\w-]+`)
	for _, path := range paths {
		code, out, stderr := genCLI(t, append(path, "--help")...)
		if code != 0 {
			t.Errorf("%v --help: exit %d %s", path, code, stderr)
			continue
		}
		for _, line := range strings.Split(out, "\n") {
			if flagLine.MatchString(line) && strings.Count(strings.ToLower(line), "default") > 1 {
				t.Errorf("tsdiag %s --help states a default twice:\n%s", strings.Join(path, " "), line)
			}
		}
	}
	// The man pages use the same rule.
	dir := t.TempDir()
	if code, _, stderr := genCLI(t, "man", dir); code != 0 {
		t.Fatalf("man: exit %d %s", code, stderr)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 12 {
		t.Fatalf("man wrote %d pages", len(pages))
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		items := strings.Split(string(b), ".TP\n")
		for _, item := range items[1:] {
			item = strings.SplitN(item, "\n.", 2)[0]
			if strings.Count(strings.ToLower(item), "default") > 1 {
				t.Errorf("%s states a default twice:\n%s", filepath.Base(p), item)
			}
		}
	}
}

func grepLine(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

// The global flags work on every command, demo included.
func TestGlobalFlagsOnEveryCommand(t *testing.T) {
	code, out, stderr := genCLI(t, "demo", "--color", "always")
	if code != 0 || !strings.Contains(out, "\x1b[") {
		t.Fatalf("demo --color always: exit %d, colour %v: %s", code, strings.Contains(out, "\x1b["), stderr)
	}
	if _, out, _ := genCLI(t, "demo", "--color", "never"); strings.Contains(out, "\x1b[") {
		t.Error("demo --color never wrote colour")
	}
	for _, args := range [][]string{{"kb", "list"}, {"gen", "--list"}, {"rules", "list"}, {"version"}} {
		if code, _, stderr := genCLI(t, append(args, "--color", "never", "--width", "80", "--verbose")...); code != 0 {
			t.Errorf("%v with the global flags: exit %d %s", args, code, stderr)
		}
	}
	if code, _, stderr := genCLI(t, "demo", "--color", "sometimes"); code != 2 || !strings.Contains(stderr, "--color") {
		t.Errorf("--color sometimes: exit %d %q", code, stderr)
	}
	code, out, _ = genCLI(t, "demo", "--format", "json")
	var doc map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc["schema"] != "tsdiag-report" {
		t.Errorf("demo --format json: exit %d, not a JSON report: %.200s", code, out)
	}
}

// demo at 80 columns: every line but a command fits, every command of the
// knowledge base is whole on its own line, and no score or likelihood
// shows without --verbose.
func TestDemoReadsAt80Columns(t *testing.T) {
	code, out, stderr := genCLI(t, "demo", "--width", "80")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkFolded(t, out, 80)
	if strings.Contains(out, "score") || strings.Contains(out, "likelihood") || strings.Contains(out, "confidence") {
		t.Errorf("scoring shown without --verbose:\n%s", out)
	}
	head := strings.Join(strings.SplitN(out, "\n", 25)[:24], "\n")
	for _, want := range []string{"Summary", "RDSH01.contoso.local", "#1 CRITICAL no-license-server", "Next: Run RD Licensing Diagnoser"} {
		if !strings.Contains(head, want) {
			t.Errorf("first screen lacks %q:\n%s", want, head)
		}
	}
	_, verbose, _ := genCLI(t, "demo", "--width", "80", "--verbose")
	for _, want := range []string{"score ", "likelihood 0.", "confidence 0."} {
		if !strings.Contains(verbose, want) {
			t.Errorf("--verbose lacks %q", want)
		}
	}
}

// checkFolded: lines past width are commands only (indented 8, alone on
// their line), and each command the report names is on one line.
func checkFolded(t *testing.T, out string, width int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if columns(l) <= width {
			continue
		}
		prev := ""
		if i > 0 {
			prev = strings.TrimSpace(lines[i-1])
		}
		isCommand := strings.HasPrefix(l, "        ") && (strings.HasPrefix(prev, "Run (") || strings.HasPrefix(prev, "Verify with (") || strings.HasPrefix(prev, "Back up first (")) ||
			strings.HasPrefix(l, "  $ tsdiag scan ") // demo's own command line

		if !isCommand {
			t.Errorf("line %d is %d columns, not a command:\n%s", i+1, columns(l), l)
		}
	}
	for _, cmd := range []string{
		`reg query "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers" /v SpecifiedLicenseServers`,
		`(Get-WmiObject -Namespace root\cimv2\terminalservices -Class Win32_TerminalServiceSetting).GetSpecifiedLicenseServerList().SpecifiedLSList`,
	} {
		if !strings.Contains(out, "        "+cmd+"\n") {
			t.Errorf("command not whole on its own line: %s", cmd)
		}
	}
}

// Without --width the text folds at the terminal's width; in a pipe at
// $COLUMNS, else 100.
func TestWidthFromColumnsAndDefault(t *testing.T) {
	t.Setenv("COLUMNS", "")
	_, out, _ := genCLI(t, "demo")
	if w := widest(out); w > 100 || w < 90 {
		t.Errorf("default width: widest prose line %d, want 90..100", w)
	}
	t.Setenv("COLUMNS", "60")
	_, out, _ = genCLI(t, "demo")
	if w := widest(out); w > 60 || w < 50 {
		t.Errorf("COLUMNS=60: widest prose line %d", w)
	}
	_, out, _ = genCLI(t, "demo", "--width", "120")
	if w := widest(out); w > 120 || w <= 100 {
		t.Errorf("--width 120 over COLUMNS=60: widest prose line %d", w)
	}
}

// widest is the widest line that is not a command (indented 8, or the
// demo's "$ tsdiag scan" line).
func widest(out string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "        ") && !strings.HasPrefix(l, "  $ ") {
			n = max(n, columns(l))
		}
	}
	return n
}

// Under a real pseudo-terminal of 80 columns, with no --width, demo fits it.
func TestDemoInAn80ColumnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed")
	}
	self, _ := os.Executable()
	cmd := exec.Command(script, "-qec", "stty cols 80 rows 40; "+self+" demo --color never 2>/dev/null", "/dev/null")
	cmd.Env = append(os.Environ(), "TSDIAG_RUN_MAIN=1", "COLUMNS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	if !strings.Contains(text, "#1 CRITICAL no-license-server") {
		t.Fatalf("no report under the pty:\n%.500s", text)
	}
	checkFolded(t, text, 80)
	if w := widest(text); w < 70 {
		t.Errorf("widest prose line %d: the terminal's 80 columns were not used", w)
	}
}

func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		code, out, _ := genCLI(t, "completion", shell)
		if code != 0 || !strings.Contains(out, "tsdiag") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", shell, code, len(out))
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"kb", "show", ""}, "grace-period-expired\t"},
		{[]string{"kb", "show", "no-lic"}, "no-license-server\t"},
		{[]string{"gen", "grace"}, "grace-period-expired-2019\t"},
		{[]string{"demo", "--scenario", "cal"}, "cal-pool-exhausted-2016\t"},
		{[]string{"scan", "--format", ""}, "sarif"},
		{[]string{"demo", "--format", ""}, "markdown"},
		{[]string{"demo", "--color", ""}, "always"},
		{[]string{"kb", "show", "--era", ""}, "2019"},
	} {
		_, out, _ := genCLI(t, append([]string{"__complete"}, c.args...)...)
		if !strings.Contains(out, c.want) {
			t.Errorf("completing %q: no %q in\n%s", c.args, c.want, out)
		}
	}
	_, out, _ := genCLI(t, "__complete", "kb", "show", "no-lic")
	if strings.Contains(out, "grace-period") {
		t.Errorf("kb show no-lic offers ids without that prefix:\n%s", out)
	}
}

func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man")
	code, _, stderr := genCLI(t, "man", dir)
	if code != 0 {
		t.Fatalf("man: exit %d %s", code, stderr)
	}
	for _, name := range []string{"tsdiag.1", "tsdiag-scan.1", "tsdiag-kb-show.1", "tsdiag-demo.1", "tsdiag-watch.1", "tsdiag-man.1"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		page := string(data)
		if !strings.HasPrefix(page, ".TH ") || !strings.Contains(page, ".SH SYNOPSIS") || !strings.Contains(page, ".SH DESCRIPTION") {
			t.Errorf("%s is not a man page:\n%.300s", name, page)
		}
	}
	scan, _ := os.ReadFile(filepath.Join(dir, "tsdiag-scan.1"))
	for _, want := range []string{`\fB\-\-fail\-on\fR`, ".SH GLOBAL OPTIONS", `\fB\-\-width\fR`, ".SH EXAMPLES"} {
		if !strings.Contains(string(scan), want) {
			t.Errorf("tsdiag-scan.1 lacks %q", want)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		return
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	for _, p := range pages {
		out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", p).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff on %s: %v %s", filepath.Base(p), err, out)
		}
	}
	out, _ := exec.Command(groff, "-man", "-Tutf8", filepath.Join(dir, "tsdiag-scan.1")).Output()
	if !strings.Contains(ansiOverstrike(string(out)), "--fail-on") {
		t.Errorf("rendered tsdiag-scan.1 lacks --fail-on")
	}
}

// ansiOverstrike drops groff's bold/underline overstrikes and SGR codes.
func ansiOverstrike(s string) string {
	s = regexp.MustCompile(".\b").ReplaceAllString(s, "")
	return ansi.ReplaceAllString(s, "")
}

func TestEventsFormatJSON(t *testing.T) {
	farmDir(t)
	code, out, stderr := genCLI(t, "events", "--format", "json", "farm.evtx")
	if code != 0 {
		t.Fatalf("events --format json: exit %d %s", code, stderr)
	}
	first := strings.SplitN(out, "\n", 2)[0]
	var ev map[string]any
	if err := json.Unmarshal([]byte(first), &ev); err != nil || ev["event_id"] == nil {
		t.Fatalf("first line not an event object: %v %q", err, first)
	}
}

// A FIFO and a /dev/fd/N (what process substitution gives) read as
// streams, like -.
func TestFIFOAndDevFdAreStreams(t *testing.T) {
	farmDir(t)
	data, err := os.ReadFile("farm.evtx")
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := genCLI(t, "scan", "--fail-on", "none", "--format", "json", "farm.evtx")
	wantFindings := findingIDs(t, want)

	if err := exec.Command("mkfifo", "farm.fifo").Run(); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		f, err := os.OpenFile("farm.fifo", os.O_WRONLY, 0)
		if err == nil {
			f.Write(data)
			f.Close()
		}
	}()
	code, out, stderr := genCLI(t, "scan", "--fail-on", "none", "--format", "json", "farm.fifo")
	if code != 0 || findingIDs(t, out) != wantFindings {
		t.Fatalf("FIFO: exit %d, findings %q want %q: %s", code, findingIDs(t, out), wantFindings, stderr)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.Write(data); w.Close() }()
	dev := fmt.Sprintf("/dev/fd/%d", r.Fd())
	if _, err := os.Stat(dev); err != nil {
		t.Skipf("no %s: %v", dev, err)
	}
	code, out, stderr = genCLI(t, "scan", "--fail-on", "none", "--format", "json", dev)
	if code != 0 || findingIDs(t, out) != wantFindings || strings.Contains(stderr, "not a regular file") {
		t.Fatalf("%s: exit %d, findings %q want %q: %s", dev, code, findingIDs(t, out), wantFindings, stderr)
	}
}

func findingIDs(t *testing.T, report string) string {
	t.Helper()
	var doc struct {
		Findings []struct{ ID string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(report), &doc); err != nil {
		t.Fatalf("not JSON: %v %.200s", err, report)
	}
	var ids []string
	for _, f := range doc.Findings {
		ids = append(ids, f.ID)
	}
	return strings.Join(ids, ",")
}

// watch on a file that is not an event log exits 2 at once, naming it once.
func TestWatchNonLogExits2(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	writeFixtureFile(t, path, "not an event log\n")
	code, _, stderr := genCLI(t, "watch", "--interval", "10ms", path)
	if code != 2 || strings.Count(stderr, path) != 1 || !strings.Contains(stderr, "not an event log") {
		t.Fatalf("watch notes.txt: exit %d %q", code, stderr)
	}
	farmDir(t)
	writeFixtureFile(t, "export.xml", xmlExport(farmEvents(), true))
	code, _, stderr = genCLI(t, "watch", "export.xml")
	if code != 2 || !strings.Contains(stderr, "tsdiag scan export.xml") {
		t.Fatalf("watch export.xml: exit %d %q", code, stderr)
	}
}

// Evidence names files relative to the input typed: an absolute folder
// input does not put the scanning machine's directories on every line.
func TestTextPathsRelativeToInput(t *testing.T) {
	farmDir(t)
	abs, _ := filepath.Abs(".")
	if err := os.Mkdir("bundle", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename("farm.evtx", "bundle/farm.evtx"); err != nil {
		t.Fatal(err)
	}
	_, out, _ := genCLI(t, "scan", "--fail-on", "none", "--width", "200", filepath.Join(abs, "bundle"), filepath.Join(abs, "farm.xml"))
	if strings.Contains(out, abs) {
		t.Errorf("text repeats the absolute path %s:\n%s", abs, out)
	}
	if !strings.Contains(out, "bundle/farm.evtx") {
		t.Errorf("text does not name bundle/farm.evtx:\n%s", out)
	}
}

// #14 in text and Markdown: duplicates are set aside per input and do not
// count as reaching the rules; an incomplete run says so first.
func TestDuplicatesAndIncompleteLeadTheReport(t *testing.T) {
	farmDir(t)
	data, _ := os.ReadFile("farm.evtx")
	if err := os.WriteFile("copy-of-farm.evtx", data, 0o644); err != nil {
		t.Fatal(err)
	}
	reached := regexp.MustCompile(`([0-9,]+) events? reached the rules`)
	_, one, _ := genCLI(t, "scan", "--fail-on", "none", "--width", "300", "farm.evtx")
	_, two, _ := genCLI(t, "scan", "--fail-on", "none", "--width", "300", "farm.evtx", "copy-of-farm.evtx")
	r1, r2 := reached.FindStringSubmatch(one), reached.FindStringSubmatch(two)
	if r1 == nil || r2 == nil || r1[1] != r2[1] {
		t.Errorf("events reaching the rules: once %v, twice %v (duplicates must not count)", r1, r2)
	}
	if !regexp.MustCompile(`Duplicates set aside: \d+ .*copy-of-farm\.evtx \d+`).MatchString(two) || !strings.Contains(strings.SplitN(two, "\n", 2)[0], "duplicates set aside") {
		t.Errorf("text does not show the duplicates per input:\n%.600s", two)
	}
	_, md, _ := genCLI(t, "scan", "--fail-on", "none", "--format", "markdown", "farm.evtx", "copy-of-farm.evtx")
	if !strings.Contains(md, "**Duplicates set aside**") || !strings.Contains(md, "`copy-of-farm.evtx`") || !strings.Contains(md, r1[1]+" events reached the rules") {
		t.Errorf("markdown does not show the duplicates:\n%.600s", md)
	}

	_, inc, _ := genCLI(t, "scan", "--keep-going", "--fail-on", "none", "farm.evtx", "missing.evtx")
	if !strings.HasPrefix(inc, "Incomplete: 1 input could not be read") {
		t.Errorf("incomplete run's first line: %q", strings.SplitN(inc, "\n", 2)[0])
	}
	_, inc, _ = genCLI(t, "scan", "--keep-going", "--fail-on", "none", "healthy.xml", "missing.evtx")
	if first := strings.SplitN(inc, "\n", 2)[0]; !strings.HasPrefix(first, "Incomplete:") || strings.Contains(first, "No licensing problem found") {
		t.Errorf("incomplete healthy run's first line: %q", first)
	}
	_, md, _ = genCLI(t, "scan", "--keep-going", "--fail-on", "none", "--format", "markdown", "healthy.xml", "missing.evtx")
	if !strings.HasPrefix(md, "## tsdiag: incomplete (1 input could not be read)") {
		t.Errorf("incomplete markdown heading: %q", strings.SplitN(md, "\n", 2)[0])
	}

	writeEVTX(t, "empty.evtx", nil)
	_, empty, _ := genCLI(t, "scan", "--fail-on", "none", "empty.evtx")
	if !strings.HasPrefix(empty, "Nothing diagnosed: no event was read") {
		t.Errorf("empty log's first line: %q", strings.SplitN(empty, "\n", 2)[0])
	}
}

// watch says when the followed file was cleared (record ids start again in
// the same file) and when another log replaced it, naming the file once.
func TestWatchSaysClearedAndReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "System.evtx")
	if err := os.WriteFile(path, encodeRecords(t, graceLog("RDSH01.contoso.com", 8)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The poll loop parks in onPoll while the gate is held, so each change
	// lands between two polls, whole.
	var gate sync.Mutex
	parked := false // the loop waits on the gate, between two polls
	ctx, cancel := context.WithCancel(context.Background())
	r := &watchRun{tick: make(chan struct{}, 1), cancel: cancel, done: make(chan error, 1), out: &syncBuffer{}, errOut: &syncBuffer{}}
	o := watchOptions{Path: path, Format: "jsonl", Interval: 5 * time.Millisecond}
	o.onPoll = func(n int) {
		r.mu.Lock()
		r.polls, parked = n, true
		r.mu.Unlock()
		gate.Lock()
		r.mu.Lock()
		parked = false
		r.mu.Unlock()
		gate.Unlock()
		select {
		case r.tick <- struct{}{}:
		default:
		}
	}
	go func() { r.done <- runWatch(ctx, o, r.out, r.errOut) }()
	r.settle(t)
	change := func(write func()) {
		gate.Lock()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			r.mu.Lock()
			p := parked
			r.mu.Unlock()
			if p {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the watch loop never parked")
			}
		}
		write()
		gate.Unlock()
		r.settle(t)
	}
	change(func() {
		if err := os.WriteFile(path, encodeRecords(t, graceLog("RDSH01.contoso.com", 3)), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	change(func() {
		tmp := filepath.Join(dir, "other.tmp")
		if err := os.WriteFile(tmp, encodeRecords(t, graceLog("RDSH01.contoso.com", 2)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	})
	r.stop(t)
	var cleared, replaced string
	for _, l := range strings.Split(r.errOut.String(), "\n") {
		switch {
		case strings.Contains(l, "log cleared"):
			cleared = l
		case strings.Contains(l, "replaced by another log"):
			replaced = l
		}
	}
	if !strings.Contains(cleared, "record ids start again") || strings.Count(cleared, path) != 1 {
		t.Errorf("no clear note naming the file once: %q\n%s", cleared, r.errOut)
	}
	if !strings.Contains(replaced, "record ids start again") || strings.Count(replaced, path) != 1 {
		t.Errorf("no replace note naming the file once: %q\n%s", replaced, r.errOut)
	}
}

// From the CLI, the JUnit document gives the verdict the exit code gives:
// a medium finding is a <failure> at --fail-on medium (exit 1) and a
// passing case with its details in <system-out> at --fail-on high or none
// (exit 0), as docs/cli.md says.
func TestJUnitVerdictFollowsExitCode(t *testing.T) {
	evtx := filepath.Join(t.TempDir(), "invalid.evtx")
	if code, _, stderr := genCLI(t, "gen", "invalid-client-license-2019", "-o", evtx); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	failures := regexp.MustCompile(`<testsuites [^>]*failures="(\d+)"`)
	for _, tc := range []struct {
		failOn   string
		exit     int
		failures string
	}{{"low", 1, "1"}, {"medium", 1, "1"}, {"high", 0, "0"}, {"none", 0, "0"}} {
		code, out, stderr := scanCLI(t, "", "scan", evtx, "--format", "junit", "--fail-on", tc.failOn)
		m := failures.FindStringSubmatch(out)
		if code != tc.exit || m == nil || m[1] != tc.failures {
			t.Errorf("--fail-on %s: exit %d (want %d), failures %v (want %s): %s", tc.failOn, code, tc.exit, m, tc.failures, stderr)
			continue
		}
		c := out[strings.Index(out, `<testcase name="invalid-client-license@`):]
		c = c[:strings.Index(c, "</testcase>")]
		if tc.exit == 0 && (strings.Contains(c, "<failure") || !strings.Contains(c, "<system-out>#1 MEDIUM invalid-client-license") || !strings.Contains(c, "passes: ")) {
			t.Errorf("--fail-on %s: the medium case is not a passing one with its details:\n%s", tc.failOn, c)
		}
		if tc.exit == 1 && strings.Count(c, "<failure") != 1 {
			t.Errorf("--fail-on %s: the medium case does not fail:\n%s", tc.failOn, c)
		}
	}
}
