//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/live"
	"github.com/tsdiag/tsdiag/internal/regcfg"
)

const serviceName = "tsdiag"

// maxEventText keeps a message under ReportEvent's 31,839-character limit
// per string.
const maxEventText = 30000

func defaultStatePath() string {
	dir := os.Getenv("ProgramData")
	if dir == "" {
		dir = `C:\ProgramData`
	}
	return filepath.Join(dir, "tsdiag", "live-state.json")
}

func runLive(ctx context.Context, o liveOptions, stdout, stderr io.Writer) error {
	switch {
	case o.InstallService:
		return installService(o, stdout)
	case o.UninstallService:
		return uninstallService(stdout)
	}
	if inService, err := svc.IsWindowsService(); err == nil && inService {
		return runService(o)
	}
	return liveLoop(ctx, o, stdout, stderr)
}

// liveLoop is the whole live pipeline: state, configuration, subscription,
// engine, printer. It returns when ctx ends.
func liveLoop(ctx context.Context, o liveOptions, stdout, stderr io.Writer) error {
	d, err := tsdiag.New(tsdiag.Config{RuleDirs: o.RuleDirs, NoBuiltin: o.NoBuiltin, Tool: toolVersion()})
	if err != nil {
		return withCode(exitError, err)
	}
	set := d.Rules()
	st, err := loadLiveState(o, stderr)
	if err != nil {
		return err
	}
	backfill, _ := o.backfill()
	plan, err := live.PlanStart(st, backfill, time.Now())
	if err != nil {
		return withCode(exitError, fmt.Errorf("state file %s: %w", o.State, err))
	}
	// The same pipeline as scan and watch; the configuration is this
	// machine's registry, for every host its events name.
	var so tsdiag.StreamOptions
	if !o.NoConfig {
		c := regcfg.ReadLive(ctx, 30*time.Second)
		so.Local = &c
		if h, herr := os.Hostname(); herr == nil {
			so.LocalHost = engine.HostKey(h)
		}
	}
	stream, err := d.Stream(so)
	if err != nil {
		return withCode(exitError, err)
	}
	cfg := stream.Config()
	out, closeOut, err := openOutput(stdout, o.Output)
	if err != nil {
		return err
	}
	defer closeOut()
	pr := newFindingPrinter(out, o.Format, cfg)
	if o.EventLog {
		sink, closeLog, err := eventLogSink()
		if err != nil {
			return withCode(exitError, err)
		}
		defer closeLog()
		pr.sink = sink
	}
	if err := pr.printConfig(); err != nil {
		return withCode(exitError, err)
	}
	fol := &follower{st: stream, filter: set.Filter(), pr: pr, wall: time.Now}
	skipped := 0
	opts := live.Options{Query: liveQuery(set, o.Channels), StatePath: o.State,
		OnDamage: func(err error) {
			skipped++
			fmt.Fprintf(stderr, "tsdiag: live: event skipped: %v\n", err)
		},
		OnNote: func(s string) { fmt.Fprintf(stderr, "tsdiag: live: %s\n", s) },
	}
	fmt.Fprintf(stderr, "tsdiag: live: %d channels, events since %s, state %s\n",
		len(opts.Query.Channels), plan.Since.Format(time.RFC3339), o.State)
	err = live.Run(ctx, opts, st, plan, fol.batch)
	if ferr := fol.flush(); err == nil {
		err = ferr
	}
	fmt.Fprintf(stderr, "tsdiag: live: stopped after %d events (%d could not be decoded)\n", fol.events, skipped)
	if err != nil {
		return withCode(exitError, err)
	}
	return nil
}

func loadLiveState(o liveOptions, stderr io.Writer) (live.State, error) {
	if err := os.MkdirAll(filepath.Dir(o.State), 0o755); err != nil {
		return live.State{}, withCode(exitError, err)
	}
	st, err := live.LoadState(o.State)
	if errors.Is(err, live.ErrCorruptState) && o.ResetState {
		to, merr := live.MoveAside(o.State, time.Now())
		if merr != nil {
			return live.State{}, withCode(exitError, merr)
		}
		fmt.Fprintf(stderr, "tsdiag: live: %v; moved to %s, starting fresh\n", err, to)
		return live.State{Version: live.StateVersion}, nil
	}
	if errors.Is(err, live.ErrCorruptState) {
		return live.State{}, withCode(exitError, fmt.Errorf("%w (move it aside with --reset-state; events since the last good bookmark are then only read with --backfill)", err))
	}
	if err != nil {
		return live.State{}, withCode(exitError, err)
	}
	return st, nil
}

// eventLogSink writes findings to the Application log under the tsdiag
// source, registering the source (EventCreate.exe messages) when it can.
// Each event holds the text line, then the JSON line watch and live print
// with --format jsonl (the json report's finding shape), so a SIEM parses
// it as it parses those.
func eventLogSink() (func(engine.Finding, string, []byte), func(), error) {
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		// Not fatal: events still get written, only without a registered source.
		fmt.Fprintf(os.Stderr, "tsdiag: live: registering event source %q: %v (run once as Administrator)\n", serviceName, err)
	}
	el, err := eventlog.Open(serviceName)
	if err != nil {
		return nil, nil, fmt.Errorf("--eventlog: %w", err)
	}
	sink := func(f engine.Finding, line string, jsonLine []byte) {
		id, level := eventLogID(f.Severity)
		msg := line + "\r\n\r\n" + strings.TrimSpace(string(jsonLine))
		if len(msg) > maxEventText {
			msg = msg[:maxEventText] + "…"
		}
		switch level {
		case "error":
			el.Error(id, msg)
		case "warning":
			el.Warning(id, msg)
		default:
			el.Info(id, msg)
		}
	}
	return sink, func() { el.Close() }, nil
}

// runService runs liveLoop under the service control manager; findings go
// to the event log, and a stop or shutdown cancels the loop cleanly.
func runService(o liveOptions) error {
	o.EventLog = true
	return svc.Run(serviceName, &liveService{o: o})
}

type liveService struct{ o liveOptions }

func (s *liveService) Execute(args []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logw := &eventLogWriter{}
	if el, err := eventlog.Open(serviceName); err == nil {
		logw.el = el
		defer el.Close()
	}
	done := make(chan error, 1)
	go func() { done <- liveLoop(ctx, s.o, io.Discard, logw) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			if err != nil {
				logw.error(err)
				return true, 2
			}
			return false, 0
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				if err := <-done; err != nil {
					logw.error(err)
				}
				return false, 0
			}
		}
	}
}

// eventLogWriter turns the loop's stderr lines into informational events.
type eventLogWriter struct{ el *eventlog.Log }

func (w *eventLogWriter) Write(p []byte) (int, error) {
	if w.el != nil {
		w.el.Info(1, strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *eventLogWriter) error(err error) {
	if w.el != nil {
		w.el.Error(2, "tsdiag live stopped: "+err.Error())
	}
}

func installService(o liveOptions, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return withCode(exitError, err)
	}
	m, err := mgr.Connect()
	if err != nil {
		return withCode(exitError, fmt.Errorf("service manager: %w (run as Administrator)", err))
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		return withCode(exitError, fmt.Errorf("service %q is already installed; run --uninstall-service first", serviceName))
	}
	args, err := serviceArgs(o)
	if err != nil {
		return withCode(exitError, err)
	}
	s, err := m.CreateService(serviceName, exe, mgr.Config{
		DisplayName: "tsdiag Remote Desktop licensing monitor",
		Description: "Follows the licensing event logs and reports Remote Desktop licensing problems to the Application log (source tsdiag).",
		StartType:   mgr.StartAutomatic,
	}, args...)
	if err != nil {
		return withCode(exitError, fmt.Errorf("create service: %w", err))
	}
	defer s.Close()
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		s.Delete()
		return withCode(exitError, fmt.Errorf("register event source: %w", err))
	}
	if err := s.Start(); err != nil {
		return withCode(exitError, fmt.Errorf("service installed but did not start: %w", err))
	}
	fmt.Fprintf(stdout, "installed and started service %q: %s %s\n", serviceName, exe, strings.Join(args, " "))
	fmt.Fprintf(stdout, "findings go to the Application log, source %q; state in %s\n", serviceName, o.State)
	return nil
}

// serviceArgs are the command line the service runs: this command's own
// flags, with paths made absolute (a service starts in System32).
func serviceArgs(o liveOptions) ([]string, error) {
	state, err := filepath.Abs(o.State)
	if err != nil {
		return nil, err
	}
	args := []string{"live", "--eventlog", "--state", state, "--format", o.Format}
	if o.Backfill != "" {
		args = append(args, "--backfill", o.Backfill)
	}
	if o.Output != "" {
		p, err := filepath.Abs(o.Output)
		if err != nil {
			return nil, err
		}
		args = append(args, "--output", p)
	}
	for _, c := range o.Channels {
		args = append(args, "--channel", c)
	}
	for _, d := range o.RuleDirs {
		p, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		args = append(args, "--rules", p)
	}
	if o.NoBuiltin {
		args = append(args, "--no-builtin")
	}
	if o.NoConfig {
		args = append(args, "--no-config")
	}
	return args, nil
}

func uninstallService(stdout io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return withCode(exitError, fmt.Errorf("service manager: %w (run as Administrator)", err))
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		return withCode(exitError, fmt.Errorf("service %q is not installed", serviceName))
	}
	defer s.Close()
	if st, err := s.Control(svc.Stop); err == nil {
		deadline := time.Now().Add(20 * time.Second)
		for st.State != svc.Stopped && time.Now().Before(deadline) {
			time.Sleep(300 * time.Millisecond)
			if st, err = s.Query(); err != nil {
				break
			}
		}
	}
	if err := s.Delete(); err != nil {
		return withCode(exitError, fmt.Errorf("delete service: %w", err))
	}
	if err := eventlog.Remove(serviceName); err != nil {
		fmt.Fprintf(stdout, "service removed; event source not removed: %v\n", err)
		return nil
	}
	fmt.Fprintf(stdout, "stopped and removed service %q and its event source\n", serviceName)
	return nil
}
