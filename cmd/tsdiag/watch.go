package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/watch"
	"github.com/tsdiag/tsdiag/internal/regcfg"
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

Stop with Ctrl-C. Exit codes: 0 stopped cleanly; 2 PATH or a flag is unusable.`

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
	f.StringVar(&o.Format, "format", "text", "output format: text or jsonl")
	f.StringVarP(&o.Output, "output", "o", "", "also append findings to `FILE`")
	f.BoolVar(&o.NewOnly, "new-only", false, "skip the records already in the files; report only what arrives")
	f.StringArrayVar(&o.RegFiles, "reg", nil, "registry export `FILE` (.reg) with the licensing configuration; repeatable")
	f.StringArrayVar(&o.RuleDirs, "rules", nil, "load rules from `DIR` over the built-in pack; repeatable")
	f.BoolVar(&o.NoBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	f.BoolVar(&o.Quiet, "quiet", false, "do not report file changes (new, replaced, cleared) on stderr")
	return cmd
}

func runWatch(ctx context.Context, o watchOptions, stdout, stderr io.Writer) error {
	if o.Format != "text" && o.Format != "jsonl" {
		return withCode(exitError, fmt.Errorf("--format %q: use text or jsonl", o.Format))
	}
	if o.Interval <= 0 {
		return withCode(exitError, errors.New("--interval must be positive"))
	}
	if _, err := os.Stat(o.Path); err != nil {
		return withCode(exitError, err)
	}
	set, err := loadRuleSet(o.NoBuiltin, o.RuleDirs)
	if err != nil {
		return withCode(exitError, err)
	}
	if strings.Contains(strings.ToLower(strings.ReplaceAll(o.Path, `\`, "/")), "winevt/logs") {
		// The event log service holds its own files open; the API is the way in.
		fmt.Fprintln(stderr, "tsdiag: watch: the live logs of this machine are read best with 'tsdiag live'")
	}
	cfg, err := watchConfig(o)
	if err != nil {
		return withCode(exitError, err)
	}
	out, closeOut, err := openOutput(stdout, o.Output)
	if err != nil {
		return err
	}
	defer closeOut()
	pr := newFindingPrinter(out, o.Format, cfg)
	if err := pr.printConfig(); err != nil {
		return withCode(exitError, err)
	}
	fol := &follower{eng: engine.New(set, configOptions(cfg)), pr: pr}
	polls := 0
	opts := watch.Options{
		Interval: o.Interval, Filter: set.Filter(), SkipExisting: o.NewOnly,
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
	st := fol.eng.Stats()
	fmt.Fprintf(stderr, "tsdiag: watch: stopped after %d polls: %d events, %d matched a rule, %d findings\n",
		polls, fol.events, st.Matched, len(pr.seen))
	if err != nil {
		return withCode(exitError, err)
	}
	return nil
}

// watchConfig reads the configuration from --reg files and .reg exports in
// a watched folder; nil when there are none.
func watchConfig(o watchOptions) (*regcfg.Config, error) {
	files := append([]string{}, o.RegFiles...)
	if st, err := os.Stat(o.Path); err == nil && st.IsDir() {
		found, err := findRegFiles(o.Path)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, nil
	}
	rf := regcfg.NewRegFile()
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = rf.Parse(f, p)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	c := regcfg.Read(rf, rf.Names...)
	return &c, nil
}

// findRegFiles lists registry exports under dir, recognised by their bytes.
func findRegFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".reg") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		head := make([]byte, 128)
		n, _ := io.ReadFull(f, head)
		f.Close()
		if regcfg.IsReg(head[:n]) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
