package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The commands README.md and docs/*.md show are run, and what they print
// is compared with what the page says.
//
// Markers (HTML comments, invisible on GitHub), on the line before a fence:
//
//	<!-- run -->            a shell session: each "$ cmd" line runs in bash
//	                        (tsdiag is this build); each line after it is
//	                        output that must appear, in order, in what the
//	                        command printed (stdout and stderr together),
//	                        up to the next "$ " line. A line holding "…" stands
//	                        for output left out. Durations (12ms) and
//	                        temporary paths are compared loosely. A command
//	                        must exit 0: a page shows another exit code with
//	                        `; echo "exit=$?"`, whose output line is compared.
//	<!-- file: PATH -->     the block's content is written to PATH first
//
// All runnable blocks of one page share a working directory, in page order.
// `go run ./cmd/tsdiag` runs as tsdiag (no compile); `go test` and
// `go install` are never marked.
func TestDocsCommandsRun(t *testing.T) {
	pages := []string{"../../README.md"}
	more, _ := filepath.Glob("../../docs/*.md")
	pages = append(pages, more...)
	bin := shim(t)
	ran := 0
	for _, page := range pages {
		blocks := docBlocks(t, page)
		if len(blocks) == 0 {
			continue
		}
		t.Run(filepath.Base(page), func(t *testing.T) {
			dir := t.TempDir()
			for _, b := range blocks {
				if b.file != "" {
					p := filepath.Join(dir, b.file)
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, []byte(b.text), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				for _, c := range sessionCommands(b.text) {
					ran++
					checkCommand(t, page, b.line, c, dir, bin)
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no runnable command found in README.md or docs/")
	}
}

type docBlock struct {
	line int    // of the fence, for messages
	file string // "<!-- file: PATH -->" blocks
	text string
}

var marker = regexp.MustCompile(`^<!-- (run|file: (\S+)) -->\s*$`)

func docBlocks(t *testing.T, page string) []docBlock {
	t.Helper()
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docBlock
	sc := bufio.NewScanner(f)
	n := 0
	var pending *docBlock
	var cur *docBlock
	var body []string
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(l, "```"):
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur, body = nil, nil
		case cur != nil:
			body = append(body, l)
		case pending != nil && strings.HasPrefix(l, "```"):
			pending.line = n
			cur, pending = pending, nil
		case pending != nil && strings.TrimSpace(l) != "":
			t.Errorf("%s:%d: a run/file marker must stand right before a fence", page, n)
			pending = nil
		default:
			if m := marker.FindStringSubmatch(l); m != nil {
				pending = &docBlock{file: m[2]}
			}
		}
	}
	return out
}

type shellCommand struct {
	cmd    string
	output []string // documented output lines
	offset int      // line within the block
}

func sessionCommands(text string) []shellCommand {
	var out []shellCommand
	for i, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(l, "$ ") {
			out = append(out, shellCommand{cmd: strings.TrimPrefix(l, "$ "), offset: i + 1})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].output = append(out[len(out)-1].output, l)
		}
	}
	return out
}

func checkCommand(t *testing.T, page string, line int, c shellCommand, dir, bin string) {
	t.Helper()
	where := fmt.Sprintf("%s:%d", filepath.Base(page), line+c.offset)
	cmdline := strings.ReplaceAll(c.cmd, "go run ./cmd/tsdiag", "tsdiag")
	cmd := exec.Command("bash", "-c", cmdline)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "COLUMNS=", "NO_COLOR=1")
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: %s: %v\n%s", where, c.cmd, err, got)
		return
	}
	actual := strings.Split(loose(string(got)), "\n")
	at := 0
	for _, want := range c.output {
		if strings.Contains(want, "…") || strings.TrimSpace(want) == "" {
			continue
		}
		w := loose(want)
		found := false
		for at < len(actual) {
			at++
			if actual[at-1] == w {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s: %s: the page shows\n\t%s\nwhich the command did not print (in that order); it printed:\n%s", where, c.cmd, want, got)
			return
		}
	}
}

var (
	durations = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|ms|s)\b`)
	tempPaths = regexp.MustCompile(`/tmp/[^\s/]+`)
	demoPaths = regexp.MustCompile(`\S*/tsdiag-demo-\d+`)
)

// loose blurs what changes from run to run: durations and temporary
// directories; trailing spaces.
func loose(s string) string {
	s = durations.ReplaceAllString(s, "DUR")
	s = demoPaths.ReplaceAllString(s, "/tmp/TMP")
	s = tempPaths.ReplaceAllString(s, "/tmp/TMP")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// shim puts a tsdiag on PATH that is this test binary running main.
func shim(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\nTSDIAG_RUN_MAIN=1 exec " + self + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "tsdiag"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every relative link of README.md and docs/ points at a file of the
// repository, except the pages other work adds (listed here until they
// exist).
func TestDocsLinksResolve(t *testing.T) {
	pending := map[string]bool{"docs/performance.md": true, "docs/live.md": true, "docs/collect.md": true, "docs/html-report.md": true}
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	pages, _ := filepath.Glob("../../docs/*.md")
	for _, page := range append([]string{"../../README.md"}, pages...) {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path := filepath.Join(filepath.Dir(page), target)
			rel, _ := filepath.Rel("../..", path)
			if _, err := os.Stat(path); err != nil && !pending[filepath.ToSlash(rel)] {
				t.Errorf("%s links to %s, which does not exist", filepath.Base(page), target)
			}
		}
	}
}
