package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/watch"
)

func init() { register(newWatchCmd) }

type watchOptions struct {
	Path      string
	Interval  time.Duration
	Format    string
	Output    string
	NewOnly   bool
	RegFiles  []string
	RuleDirs  []string
	NoBuiltin bool
	Quiet     bool // no file notes on stderr

	// onPoll is a test hook called after every poll.
	onPoll func(int)
}

const watchLong = `Follow a growing .evtx file, or a folder of them, and print licensing findings
as they change. Works on any system: a log copied from a server and refreshed,
a share a collector writes to, a reproduction in progress.

Each poll decodes the files that changed and feeds only records not seen
before (by record id per computer and channel) to the rules. A file that is
replaced, cleared (record ids start again) or rotated (an archive appears and
the log starts over) is reported on stderr and followed without repeating or
losing events. Records already in the files are read first unless --new-only.

Registry exports (.reg) given with --reg, or found in a watched folder, supply
the licensing configuration (mode, specified license servers,
DefaultLicenseServer, GracePeriod key), printed before the findings.

Stop with Ctrl-C. Exit codes: 0 stopped cleanly; 2 PATH or a flag is unusable
(PATH missing, or a file that is not an EVTX log: XML exports, .evt files and
bundles are read by 'tsdiag scan').`

func newWatchCmd() *cobra.Command {
	o := watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch [flags] PATH",
		Short: "Follow a growing .evtx file or folder and print licensing findings as they change",
		Long:  watchLong,
		Example: `  tsdiag watch /mnt/share/RDSH01/System.evtx
  tsdiag watch --interval 10s --format jsonl logs/ >> findings.jsonl
  tsdiag watch --reg bundle/TermService.reg System.evtx`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Path = args[0]
			ctx, stop := signal.NotifyContext(cmdContext(c), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runWatch(ctx, o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Interval, "interval", watch.DefaultInterval, "poll interval")
	f.StringVar(&o.Format, "format", "text", "output format: text or jsonl (json is accepted for it)")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion("text", "jsonl"))
	f.StringVarP(&o.Output, "output", "o", "", "also append findings to `FILE`")
	f.BoolVar(&o.NewOnly, "new-only", false, "skip the records already in the files; report only what arrives")
	f.StringArrayVar(&o.RegFiles, "reg", nil, "registry export `FILE` (.reg) with the licensing configuration; repeatable")
	f.StringArrayVar(&o.RuleDirs, "rules", nil, "load rules from `DIR` over the built-in pack; repeatable")
	f.BoolVar(&o.NoBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	f.BoolVar(&o.Quiet, "quiet", false, "do not report file changes (new, replaced, cleared) on stderr")
	return cmd
}

func runWatch(ctx context.Context, o watchOptions, stdout, stderr io.Writer) error {
	o.Format = lineFormat(o.Format)
	if o.Format != "text" && o.Format != "jsonl" {
		return withCode(exitError, fmt.Errorf("--format %q: use text or jsonl", o.Format))
	}
	if o.Interval <= 0 {
		return withCode(exitError, errors.New("--interval must be positive"))
	}
	if err := watchable(o.Path); err != nil {
		return withCode(exitError, err)
	}
	d, err := tsdiag.New(tsdiag.Config{RuleDirs: o.RuleDirs, NoBuiltin: o.NoBuiltin, Tool: toolVersion()})
	if err != nil {
		return withCode(exitError, err)
	}
	if strings.Contains(strings.ToLower(strings.ReplaceAll(o.Path, `\`, "/")), "winevt/logs") {
		// The event log service holds its own files open; the API is the way in.
		fmt.Fprintln(stderr, "tsdiag: watch: the live logs of this machine are read best with 'tsdiag live'")
	}
	st, err := d.Stream(tsdiag.StreamOptions{RegFiles: watchRegFiles(o)})
	if err != nil {
		return withCode(exitError, err)
	}
	out, closeOut, err := openOutput(stdout, o.Output)
	if err != nil {
		return err
	}
	defer closeOut()
	pr := newFindingPrinter(out, o.Format, st.Config())
	if err := pr.printConfig(); err != nil {
		return withCode(exitError, err)
	}
	fol := &follower{st: st, pr: pr}
	polls := 0
	opts := watch.Options{
		Interval: o.Interval, Filter: d.Filter(), SkipExisting: o.NewOnly,
		OnNote: func(n watch.Note) {
			if !o.Quiet || n.Kind == "unreadable" {
				fmt.Fprintf(stderr, "tsdiag: watch: %s\n", n)
			}
		},
		OnPoll: func(n int) {
			polls = n
			if o.onPoll != nil {
				o.onPoll(n)
			}
		},
	}
	err = watch.Follow(ctx, o.Path, opts, fol.batch)
	fmt.Fprintf(stderr, "tsdiag: watch: stopped after %d polls: %d events, %d matched a rule, %d findings\n",
		polls, fol.events, st.Stats().Matched, len(pr.seen))
	if err != nil {
		return withCode(exitError, err)
	}
	return nil
}

// watchable checks PATH before the first poll: it must exist, and a file
// must be an EVTX log, or empty (a collector about to write it). Anything
// else would be polled for ever without a finding.
func watchable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Size() == 0 {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, source.SniffLen)
	n, _ := io.ReadFull(f, head)
	switch format := source.Detect(head[:n]); format {
	case source.EVTX:
		return nil
	case source.Unknown:
		return fmt.Errorf("%s is not an event log: watch follows .evtx files (or a folder of them)", path)
	default:
		return fmt.Errorf("%s is %s, not an .evtx file: watch follows .evtx files; read it with 'tsdiag scan %s'", path, format, path)
	}
}

// watchRegFiles are the registry exports of a watch: --reg files, and
// the watched folder (its exports tied to hosts as scan ties them).
func watchRegFiles(o watchOptions) []string {
	files := append([]string{}, o.RegFiles...)
	if st, err := os.Stat(o.Path); err == nil && st.IsDir() {
		files = append(files, o.Path)
	}
	return files
}
