package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/internal/collect"
	"github.com/tsdiag/tsdiag/rules"
)

func init() { register(newCollectCmd) }

type collectOptions struct {
	Output string
	Since  string
}

func newCollectCmd() *cobra.Command {
	o := &collectOptions{}
	c := &cobra.Command{
		Use:   "collect",
		Short: "Gather a support bundle on this server (Windows): licensing logs, registry keys, live licensing state",
		Long: `collect exports, on the Remote Desktop server it runs on, the System log and every
licensing channel (.evtx, wevtutil epl), the licensing registry keys (.reg, reg export),
the names (never the data) of the RCM values, and the live licensing state from WMI
(licensing-state.json), with a manifest of what was collected and what was left out and
why. The zip is what tsdiag scan reads: scan it here or on any machine. Run it from an
elevated prompt; without admin rights it collects what it can and says what is missing.
Sources and layout: docs/collect.md.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			since, err := o.since()
			if err != nil {
				return withCode(exitError, err)
			}
			return runCollect(c.Context(), o.Output, since, c.OutOrStdout())
		},
	}
	c.Flags().StringVarP(&o.Output, "output", "o", "", "bundle to write (default tsdiag-HOST-YYYYMMDD-HHMMSS.zip in the current folder)")
	c.Flags().StringVar(&o.Since, "since", "30d", `events of the last DURATION only (30d, 72h); "all" for whole logs`)
	return c
}

func (o *collectOptions) since() (time.Duration, error) {
	if o.Since == "all" || o.Since == "0" {
		return 0, nil
	}
	d, err := rules.ParseDuration(o.Since)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--since %q: not a duration (e.g. 30d, 72h) or \"all\"", o.Since)
	}
	return d, nil
}

// collectTo runs one collection on h and writes its zip to out (created
// next to its final name and renamed, so a failed run leaves no partial
// bundle), then prints the summary.
func collectTo(ctx context.Context, h collect.Host, out string, since time.Duration, now time.Time, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	work, err := os.MkdirTemp("", "tsdiag-collect-")
	if err != nil {
		return withCode(exitError, err)
	}
	defer os.RemoveAll(work)
	res, err := collect.Collect(ctx, h, collect.Options{Since: since, Now: now, Tool: toolVersion(), WorkDir: work})
	if err != nil {
		return withCode(exitError, err)
	}
	if out == "" {
		out = fmt.Sprintf("tsdiag-%s-%s.zip", res.Folder, now.UTC().Format("20060102-150405"))
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".tsdiag-collect-*.zip")
	if err != nil {
		return withCode(exitError, err)
	}
	defer os.Remove(tmp.Name())
	if err := res.WriteZip(tmp); err != nil {
		tmp.Close()
		return withCode(exitError, fmt.Errorf("%s: %v", out, err))
	}
	if err := tmp.Close(); err != nil {
		return withCode(exitError, fmt.Errorf("%s: %v", out, err))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return withCode(exitError, err)
	}
	res.WriteSummary(stdout, out)
	fmt.Fprintf(stdout, "Next: tsdiag scan %s\n", out)
	return nil
}
