package report

import (
	"html"
	"strings"
	"testing"
)

// A resolved incident says when and after how long in every format that
// prints findings, and a trouble that came back and healed night after
// night says so: the nightly restart's "after 168h" alone read as a week-long
// outage (8 spells of about three minutes). A single spell (the patch
// reboot) says nothing of episodes. Markdown, JUnit and SARIF did not say
// "resolved" at all.
func TestResolvedSaysHowOftenInEveryFormat(t *testing.T) {
	for id, want := range map[string]string{
		"transient-nightly-ls-restart-2019": "in 8 episodes, the last 3",
		"transient-ls-patch-reboot-2019":    "",
	} {
		r := scanScenario(t, id)
		if len(r.Findings) == 0 || r.Findings[0].Status != "resolved" {
			t.Fatalf("%s: first finding %+v, want resolved", id, r.Findings)
		}
		out := renderAll(t, r)
		for _, f := range []string{"text", "markdown", "junit", "sarif", "html"} {
			doc := html.UnescapeString(strings.ReplaceAll(out[f], "&#xA;", "\n"))
			if !strings.Contains(strings.ToLower(doc), "resolved at") {
				t.Errorf("%s %s: no 'resolved at'", id, f)
			}
			if has := strings.Contains(doc, "episodes, the last"); want == "" && has {
				t.Errorf("%s %s: episodes named for a single spell", id, f)
			} else if want != "" && !strings.Contains(doc, want) {
				t.Errorf("%s %s: lacks %q", id, f, want)
			}
		}
	}
	r := scanScenario(t, "transient-boot-failure-2016")
	out := renderAll(t, r)
	for _, f := range []string{"text", "markdown", "junit", "sarif", "html"} {
		if !strings.Contains(strings.ToLower(out[f]), "transient") {
			t.Errorf("transient-boot-failure-2016 %s: does not say transient", f)
		}
	}
}
