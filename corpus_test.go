package tsdiag_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsdiag/tsdiag"
)

// Real logs with no licensing trouble give no licensing finding above
// info, through the whole pipeline a scan runs (moved here from kb, which
// rebuilt part of it by hand).
func TestCorpusHasNoLicensingFindings(t *testing.T) {
	wd, _ := os.Getwd()
	dir := filepath.Join(wd, "..", "shared", "corpus", "evtx-samples")
	files, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s (../shared absent)", dir)
	}
	d, err := tsdiag.New(tsdiag.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rep, err := d.Scan(context.Background(), tsdiag.Path(f))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Stats.Records == 0 || rep.Incomplete() {
				t.Errorf("%s: %d records, unreadable %v", filepath.Base(f), rep.Stats.Records, rep.Stats.Unreadable)
			}
			for _, x := range rep.Findings {
				if x.Severity != "info" {
					t.Errorf("%s: %s (%s) group %v", filepath.Base(f), x.Rule, x.Severity, x.Group)
				}
			}
		})
	}
}
