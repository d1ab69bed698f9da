package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The CI examples in testdata/ci-examples are documentation users copy:
// every `tsdiag scan` line in them must run with the flags as written, on
// a bundle directory, with the example suppression file, and exit with the
// code the example expects (0 for the report steps, 1 for the verdict on a
// farm with a critical finding).
func TestCIExamplesRun(t *testing.T) {
	examples, _ := filepath.Abs("../../testdata/ci-examples")
	suppress, err := os.ReadFile(filepath.Join(examples, "tsdiag-suppress.toml"))
	if err != nil {
		t.Fatal(err)
	}
	farmDir(t)
	farm, _ := os.ReadFile("farm.evtx")
	writeFixtureFile(t, "support-bundles/case-4711/System.evtx", string(farm))
	writeFixtureFile(t, "support-bundles/case-4712.tgz", string(tgz(t, map[string][]byte{"System.evtx": farm})))
	writeFixtureFile(t, ".tsdiag-suppress.toml", string(suppress))
	for _, name := range []string{"github-actions.yml", "gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join(examples, name))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(data), "\n") {
			i := strings.Index(line, "tsdiag scan ")
			if i < 0 || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			cmd := line[i+len("tsdiag "):]
			if j := strings.Index(cmd, ">>"); j >= 0 {
				cmd = cmd[:j]
			}
			var args []string
			for _, a := range strings.Fields(cmd) {
				if strings.Contains(a, "*") { // the shell expands globs
					m, _ := filepath.Glob(a)
					args = append(args, m...)
					continue
				}
				args = append(args, a)
			}
			want := 0
			if !strings.Contains(cmd, "--fail-on none") {
				want = 1 // the farm has a critical finding the example does not suppress
			}
			code, _, stderr := scanCLI(t, "", args...)
			if code != want {
				t.Errorf("%s: `tsdiag %s` exited %d, want %d: %s", name, cmd, code, want, stderr)
			}
			n++
		}
		if n < 2 {
			t.Errorf("%s: only %d tsdiag scan lines found", name, n)
		}
	}
	for _, f := range []string{"tsdiag.sarif", "tsdiag-junit.xml", "tsdiag.html", "tsdiag.md"} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("example did not write %s: %v", f, err)
		}
	}
}
