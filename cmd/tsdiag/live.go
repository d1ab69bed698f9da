package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/internal/report"
	"github.com/tsdiag/tsdiag/rules"
)

func init() { register(newLiveCmd) }

// liveOptions are the flags of `tsdiag live`.
type liveOptions struct {
	State            string
	ResetState       bool
	Backfill         string
	Format           string // text or jsonl
	Output           string // append findings to FILE as well as stdout
	EventLog         bool   // write findings to the Application log (source tsdiag)
	InstallService   bool
	UninstallService bool
	Channels         []string
	RuleDirs         []string
	NoBuiltin        bool
	NoConfig         bool
	PrintQuery       bool
}

const liveLong = `Follow the Windows event log on this server and print licensing findings as
they change (Windows only; elsewhere use 'tsdiag watch PATH').

tsdiag subscribes to System, the RemoteConnectionManager Admin/Operational and
the TerminalServices-Licensing Admin/Operational channels with a query built
from the rule set (only the providers and event ids a rule can match, split
into Selects of at most 20 expressions). A channel that does not exist or
cannot be read is reported and left out. Each event's XML is decoded with the
same reader that reads XML exports.

After each batch the subscription bookmark is saved atomically to the state
file, which one tsdiag at a time may hold (a service and an interactive run
need different --state files). A restart resumes strictly after the bookmark
(if the log was cleared or wrapped meanwhile, it reads again from the last
event delivered, skipping what was already delivered), and first re-reads the
longest window any rule needs before the bookmark so that counts, sequences
and countdowns straddling the restart are still made; what was already
reported is not reported again. Transient errors (the log cleared under the
subscription, the EventLog service restarting) resubscribe with backoff.
--backfill reads that much history first (first run only), then goes live.
The licensing configuration in the registry and the grace days left are read
at start and printed with the findings.

--channel ForwardedEvents on a Windows Event Collector diagnoses each
forwarding host on its own (see docs/live.md for the wecutil subscription).

Findings go to stdout (text, or --format jsonl for log shippers) and, with
--eventlog, to the Application log under the source "tsdiag" (event id 100
info, 200 low, 300 medium, 400 high, 500 critical) so Windows Event Forwarding
and any SIEM collect them. --install-service copies tsdiag to
%ProgramFiles%\tsdiag and runs this command unattended as the "tsdiag" service
(with --eventlog; depends on EventLog, delayed start, restarts on failure);
Ctrl-C or a service stop ends it cleanly.

Exit codes: 0 stopped cleanly; 2 the subscription could not run (not Windows,
bad flags, corrupt or locked state file, access denied).`

func newLiveCmd() *cobra.Command {
	o := liveOptions{}
	cmd := &cobra.Command{
		Use:   "live [flags]",
		Short: "Follow this Windows server's event log and print licensing findings as they change",
		Long:  liveLong,
		Example: `  tsdiag live --backfill 30d
  tsdiag live --format jsonl --eventlog
  tsdiag live --install-service --backfill 7d
  tsdiag live --print-query --channel System
  tsdiag live --uninstall-service`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return withCode(exitError, err)
			}
			if o.PrintQuery {
				return printLiveQuery(o, c.OutOrStdout())
			}
			ctx, stop := signal.NotifyContext(cmdContext(c), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runLive(ctx, o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.State, "state", defaultStatePath(), "bookmark state `FILE` (written atomically after each batch)")
	f.BoolVar(&o.ResetState, "reset-state", false, "move a corrupt state file aside and start fresh")
	f.StringVar(&o.Backfill, "backfill", "", "read this much history first (`DURATION`: 30d, 12h), then go live; first run only")
	f.StringVar(&o.Format, "format", "text", "output format: text or jsonl (json is accepted for it)")
	f.StringVarP(&o.Output, "output", "o", "", "also append findings to `FILE`")
	f.BoolVar(&o.EventLog, "eventlog", false, "write findings to the Windows Application log under the source tsdiag")
	f.BoolVar(&o.InstallService, "install-service", false, "install and start the tsdiag service running this command with these flags")
	f.BoolVar(&o.UninstallService, "uninstall-service", false, "stop and remove the tsdiag service and its event source")
	f.StringArrayVar(&o.Channels, "channel", nil, "subscribe to `CHANNEL` instead of the licensing channels; repeatable")
	f.StringArrayVar(&o.RuleDirs, "rules", nil, "load rules from `DIR` over the built-in pack; repeatable")
	f.BoolVar(&o.NoBuiltin, "no-builtin", false, "do not load the built-in rule pack")
	f.BoolVar(&o.NoConfig, "no-config", false, "do not read the licensing configuration from the registry")
	f.BoolVar(&o.PrintQuery, "print-query", false, "print the subscription query (paste into Event Viewer: Create Custom View → XML) and exit; any system")
	return cmd
}

func cmdContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func (o *liveOptions) check() error {
	o.Format = lineFormat(o.Format)
	if o.Format != "text" && o.Format != "jsonl" {
		return fmt.Errorf("--format %q: use text or jsonl (json is accepted as jsonl)", o.Format)
	}
	if o.InstallService && o.UninstallService {
		return errors.New("--install-service and --uninstall-service exclude each other")
	}
	if _, err := o.backfill(); err != nil {
		return err
	}
	return nil
}

func (o *liveOptions) backfill() (time.Duration, error) {
	if o.Backfill == "" {
		return 0, nil
	}
	d, err := rules.ParseDuration(o.Backfill)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--backfill %q: not a duration (e.g. 30d, 12h)", o.Backfill)
	}
	return d, nil
}

func printLiveQuery(o liveOptions, w io.Writer) error {
	set, err := loadRuleSet(o.NoBuiltin, o.RuleDirs)
	if err != nil {
		return withCode(exitError, err)
	}
	x, err := liveQuery(set, o.Channels).XML()
	if err != nil {
		return withCode(exitError, err)
	}
	_, err = fmt.Fprintln(w, x)
	return err
}

// liveQuery builds the subscription query from the rule set.
func liveQuery(set *rules.Set, channels []string) live.Query {
	if len(channels) == 0 {
		channels = live.Channels
	}
	q := live.Query{Channels: channels}
	var spellings []string
	for _, c := range set.Classes {
		for _, e := range c.Events {
			spellings = append(spellings, e.Provider)
		}
	}
	for _, r := range set.Selects() {
		q.Refs = append(q.Refs, live.Ref{Provider: live.Spell(r.Provider, spellings...), ID: r.ID})
	}
	return q
}

// follower feeds batches from a source into the engine and prints the
// findings that changed.
//
// A live subscription delivers each channel's history in turn, so one
// channel's events can arrive hours before another's older ones. Live
// batches are therefore held until the source says it has caught up (an
// empty batch), then fed in time order; watch batches are already in time
// order and are fed at once.
type follower struct {
	st     *tsdiag.Stream
	filter evtx.Filter
	pr     *findingPrinter
	// wall makes the engine's clock follow the wall clock at each catch-up
	// (a live server: absence deadlines pass and days left shrink without
	// new events); nil for watch, whose clock is the newest event.
	wall    func() time.Time
	pending []*evtx.Event
	events  int
	// perHost, when set, gives each computer its own stream (a collector's
	// ForwardedEvents: each forwarding host has its own clock, windows and
	// incidents, so one host's backlog arriving late is not "late" against
	// another's newer events); st is then the local host's.
	perHost func(host string) (*tsdiag.Stream, error)
	hosts   map[string]*tsdiag.Stream
	order   []string // host keys, first seen first
	dropped int      // events of hosts beyond maxHosts
	// replaying holds events re-read from before the bookmark: fed to the
	// engine, never printed; primeAt is when the previous run last printed
	// (its state's save time), the clock the replayed findings are taken at.
	replaying bool
	primeAt   time.Time
}

// maxPending bounds the events held while a live backfill catches up.
const maxPending = 200000

// maxHosts bounds the per-host streams of a collector.
const maxHosts = 5000

func (f *follower) batch(events []*evtx.Event) error {
	f.hold(events)
	if f.wall != nil && len(events) > 0 && len(f.pending) < maxPending {
		return nil
	}
	return f.flush()
}

func (f *follower) hold(events []*evtx.Event) {
	for _, ev := range events {
		if f.filter == nil || f.filter(ev.Provider, ev.EventID) {
			f.pending = append(f.pending, ev)
		}
	}
}

// replay takes the events re-read from before the bookmark (the previous
// run reported them) and, at nil, feeds them and marks every finding they
// make as already printed: the correlations resume where they were, and
// nothing is reported twice.
func (f *follower) replay(events []*evtx.Event) error {
	if events != nil {
		f.replaying = true
		f.hold(events)
		if len(f.pending) < maxPending {
			return nil
		}
	}
	if err := f.feed(); err != nil {
		return err
	}
	for _, st := range f.streams() {
		f.pr.prime(st.Snapshot(f.primeAt))
	}
	f.replaying = false
	return nil
}

// streamFor is the stream ev goes to; nil when a collector has more hosts
// than maxHosts (counted, not fed).
func (f *follower) streamFor(ev *evtx.Event) (*tsdiag.Stream, error) {
	if f.perHost == nil {
		return f.st, nil
	}
	key := engine.HostKey(ev.Computer)
	if st, ok := f.hosts[key]; ok {
		return st, nil
	}
	if len(f.hosts) >= maxHosts {
		f.dropped++
		return nil, nil
	}
	st, err := f.perHost(key)
	if err != nil {
		return nil, err
	}
	if f.hosts == nil {
		f.hosts = map[string]*tsdiag.Stream{}
	}
	f.hosts[key] = st
	f.order = append(f.order, key)
	return st, nil
}

func (f *follower) streams() []*tsdiag.Stream {
	if f.perHost == nil {
		return []*tsdiag.Stream{f.st}
	}
	out := make([]*tsdiag.Stream, 0, len(f.order))
	for _, k := range f.order {
		out = append(out, f.hosts[k])
	}
	return out
}

// feed feeds what is held, in time order.
func (f *follower) feed() error {
	sort.SliceStable(f.pending, func(i, j int) bool { return f.pending[i].TimeCreated.Before(f.pending[j].TimeCreated) })
	for _, ev := range f.pending {
		st, err := f.streamFor(ev)
		if err != nil {
			return err
		}
		if st == nil {
			continue
		}
		if !f.replaying {
			f.events++
		}
		if err := st.Feed(ev); err != nil {
			return err
		}
	}
	f.pending = nil
	return nil
}

// flush feeds what is held and prints what changed.
func (f *follower) flush() error {
	if err := f.feed(); err != nil {
		return err
	}
	if f.replaying {
		return nil
	}
	var at time.Time
	if f.wall != nil {
		at = f.wall()
	}
	for _, st := range f.streams() {
		if err := f.pr.update(st.Snapshot(at)); err != nil {
			return err
		}
	}
	return nil
}

// hostSummary is the stop line's note of a collector's hosts.
func (f *follower) hostSummary() string {
	if f.perHost == nil {
		return ""
	}
	s := fmt.Sprintf(", %d forwarding hosts", len(f.hosts))
	if f.dropped > 0 {
		s += fmt.Sprintf(" (%d events of hosts beyond the first %d not diagnosed)", f.dropped, maxHosts)
	}
	return s
}

// findingPrinter prints a finding when it first appears and whenever it
// changes (count, last seen, severity, facts), as text or JSON lines (the
// json report's finding shape, tsdiag.WriteChange).
type findingPrinter struct {
	w      io.Writer
	format string
	config map[string]tsdiag.LicensingConfig // by host, as scan reports it
	// sink also gets each change, e.g. the Windows event log: the text line
	// and the JSON line.
	sink  func(f engine.Finding, line string, jsonLine []byte)
	clock func() time.Time
	seen  map[string]string
}

func newFindingPrinter(w io.Writer, format string, cfg map[string]tsdiag.LicensingConfig) *findingPrinter {
	return &findingPrinter{w: w, format: format, config: cfg, clock: time.Now, seen: map[string]string{}}
}

// findingKey identifies a finding across snapshots: the diagnosis, not the
// rule, because the engine reports one finding per diagnosis and group and
// the rule that carries it may change as evidence grows.
func findingKey(f engine.Finding) string {
	return f.ID + "\x00" + engine.GroupString(f.Group) + "\x00" + f.Host
}

// findingSig is what makes a finding "changed". Numeric facts count in
// whole units, so a countdown re-prints once a day, not on every batch.
// The last-seen time is left out: a new match already changes Count, and a
// configuration finding's last-seen is "now", which would re-print it (and,
// as a service, write an event) at every catch-up and idle tick.
func findingSig(f engine.Finding) string {
	rounded := make(map[string]any, len(f.Facts))
	for k, v := range f.Facts {
		if x, ok := v.(float64); ok {
			v = math.Round(x)
		}
		rounded[k] = v
	}
	facts, _ := json.Marshal(rounded)
	return fmt.Sprintf("%s|%s|%s|%d|%s", f.Rule, f.Severity, f.Status, f.Count, facts)
}

// printConfig states the configuration once, before any finding.
func (p *findingPrinter) printConfig() error {
	if len(p.config) == 0 {
		return nil
	}
	if p.format == "jsonl" {
		return tsdiag.WriteConfigLine(p.w, p.clock(), p.config)
	}
	for _, l := range (&report.Report{Config: p.config}).ConfigLines() {
		if _, err := fmt.Fprintln(p.w, "configuration seen: "+l); err != nil {
			return err
		}
	}
	return nil
}

// prime records items as printed without printing them: the findings a
// previous run reported, rebuilt from the log on restart.
func (p *findingPrinter) prime(items []tsdiag.Item) {
	for _, it := range items {
		p.seen[findingKey(it.Finding)] = findingSig(it.Finding)
	}
}

func (p *findingPrinter) update(items []tsdiag.Item) error {
	for _, it := range items {
		f := it.Finding
		k, sig := findingKey(f), findingSig(f)
		old, ok := p.seen[k]
		if ok && old == sig {
			continue
		}
		p.seen[k] = sig
		change := changeOf(f, ok)
		now := p.clock()
		line := findingLine(f, change, now)
		var js bytes.Buffer
		if err := tsdiag.WriteChange(&js, tsdiag.Change{Kind: change, Time: now, Item: it, Config: p.config}); err != nil {
			return err
		}
		if p.sink != nil {
			p.sink(f, line, js.Bytes())
		}
		out := js.Bytes()
		if p.format != "jsonl" {
			out = []byte(line + "\n")
		}
		if _, err := p.w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// changeOf names what happened to a finding: a resolved one is retired
// ("resolved", at info) the way scan reports it, a transient one is noted
// as such, a re-opened one is "updated" again.
func changeOf(f engine.Finding, seen bool) string {
	switch {
	case f.Status == engine.StatusResolved:
		return "resolved"
	case f.Status == engine.StatusTransient && !seen:
		return "transient"
	case seen:
		return "updated"
	}
	return "new"
}

// findingLine is one line of text for a finding: when, what changed,
// severity, diagnosis, where, how often, facts and title.
func findingLine(f engine.Finding, change string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-7s %-8s %s", now.UTC().Format(time.RFC3339), strings.ToUpper(change), f.Severity, f.ID)
	if f.Rule != f.ID {
		fmt.Fprintf(&b, " [%s]", f.Rule)
	}
	if f.Host != "" && !hasValue(f.Group, f.Host) {
		fmt.Fprintf(&b, " host=%s", f.Host)
	}
	if g := engine.GroupString(f.Group); g != "" {
		fmt.Fprintf(&b, " %s", g)
	}
	fmt.Fprintf(&b, " count=%d last=%s", f.Count, f.LastSeen.UTC().Format(time.RFC3339))
	keys := make([]string, 0, len(f.Facts))
	for k := range f.Facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, report.FactValue(f.Facts[k]))
	}
	fmt.Fprintf(&b, " — %s", f.Title)
	return b.String()
}

func hasValue(m map[string]string, v string) bool {
	for _, x := range m {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// multiWriter writes findings to stdout and, with --output, a file.
func openOutput(stdout io.Writer, path string) (io.Writer, func(), error) {
	if path == "" {
		return stdout, func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, nil, withCode(exitError, fmt.Errorf("--output: %w", err))
	}
	return io.MultiWriter(stdout, f), func() { f.Close() }, nil
}

// eventLogID maps a severity to the Application log event id and level
// tsdiag writes (EventCreate messages accept ids 1–1000).
func eventLogID(severity string) (uint32, string) {
	switch severity {
	case "critical":
		return 500, "error"
	case "high":
		return 400, "error"
	case "medium":
		return 300, "warning"
	case "low":
		return 200, "info"
	}
	return 100, "info"
}
