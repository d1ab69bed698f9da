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

// liveLoop runs the portable pipeline (live_run.go) on this machine: the
// local event log, the registry's licensing configuration, the
// Application log.
func liveLoop(ctx context.Context, o liveOptions, stdout, stderr io.Writer) error {
	lg, err := live.Local()
	if err != nil {
		return withCode(exitError, err)
	}
	sys := liveSystem{Log: lg, EventLog: eventLogSink,
		Config: func(ctx context.Context) *tsdiag.LicensingConfig {
			c := regcfg.ReadLive(ctx, 30*time.Second)
			return &c
		}}
	if h, herr := os.Hostname(); herr == nil {
		sys.LocalHost = engine.HostKey(h)
	}
	return runLiveOn(ctx, o, sys, stdout, stderr)
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
		msg := cutMessage(line+"\r\n\r\n"+strings.TrimSpace(string(jsonLine)), maxEventChars)
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
	logw := &eventLogWriter{gate: newNoteGate(20, time.Now)}
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

// eventLogWriter turns the loop's stderr lines into informational events,
// through a gate: a flood of one kind of note (damaged events, retries) is
// held back and summarised, not written line by line.
type eventLogWriter struct {
	el   *eventlog.Log
	gate *noteGate
}

func (w *eventLogWriter) Write(p []byte) (int, error) {
	if w.el == nil {
		return len(p), nil
	}
	for _, line := range strings.Split(string(p), "\n") {
		for _, l := range w.gate.lines(line) {
			w.el.Info(1, cutMessage(l, maxEventChars))
		}
	}
	return len(p), nil
}

func (w *eventLogWriter) error(err error) {
	if w.el != nil {
		w.el.Error(2, cutMessage("tsdiag live stopped: "+err.Error(), maxEventChars))
	}
}

// installService installs live as the tsdiag service:
//   - the binary copied to %ProgramFiles%\tsdiag\tsdiag.exe (servicePaths):
//     a LocalSystem service must not run an executable a user can replace;
//     %ProgramFiles%' default ACL lets only administrators write there (the
//     folder inherits it; tsdiag sets no ACL of its own);
//   - a dependency on the EventLog service (CreateServiceW lpDependencies,
//     https://learn.microsoft.com/en-us/windows/win32/api/winsvc/nf-winsvc-createservicew),
//     so it starts after, and is stopped before, the log it reads;
//   - delayed automatic start (SERVICE_DELAYED_AUTO_START_INFO,
//     https://learn.microsoft.com/en-us/windows/win32/api/winsvc/ns-winsvc-service_delayed_auto_start_info);
//   - recovery: restart after 1, 2 and 5 minutes, the count reset after a
//     day (SERVICE_FAILURE_ACTIONS,
//     https://learn.microsoft.com/en-us/windows/win32/api/winsvc/ns-winsvc-service_failure_actionsw),
//     also when it stops with an error exit code rather than crashing
//     (SERVICE_FAILURE_ACTIONS_FLAG,
//     https://learn.microsoft.com/en-us/windows/win32/api/winsvc/ns-winsvc-service_failure_actions_flag;
//     that page says the flag takes effect at the next system start).
//
// golang.org/x/sys/windows/svc/mgr wraps these: Config.Dependencies,
// Config.DelayedAutoStart, Service.SetRecoveryActions and
// SetRecoveryActionsOnNonCrashFailures.
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
	target, copyIt := servicePaths(exe, os.Getenv("ProgramFiles"))
	if target == "" {
		return withCode(exitError, errors.New("%ProgramFiles% is not set: cannot place the service binary in a protected folder"))
	}
	if copyIt {
		if err := copyExecutable(exe, target); err != nil {
			return withCode(exitError, fmt.Errorf("copy the binary to %s: %w", target, err))
		}
	}
	args, err := serviceArgs(o)
	if err != nil {
		return withCode(exitError, err)
	}
	s, err := m.CreateService(serviceName, target, mgr.Config{
		DisplayName:      "tsdiag Remote Desktop licensing monitor",
		Description:      "Follows the licensing event logs and reports Remote Desktop licensing problems to the Application log (source tsdiag).",
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
		Dependencies:     []string{"EventLog"},
	}, args...)
	if err != nil {
		return withCode(exitError, fmt.Errorf("create service: %w", err))
	}
	defer s.Close()
	var actions []mgr.RecoveryAction
	for _, d := range serviceRestartDelays {
		actions = append(actions, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	if err := s.SetRecoveryActions(actions, uint32(serviceResetPeriod/time.Second)); err != nil {
		s.Delete()
		return withCode(exitError, fmt.Errorf("set recovery actions: %w", err))
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		s.Delete()
		return withCode(exitError, fmt.Errorf("set recovery on error exits: %w", err))
	}
	if err := eventlog.InstallAsEventCreate(serviceName, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		s.Delete()
		return withCode(exitError, fmt.Errorf("register event source: %w", err))
	}
	if err := s.Start(); err != nil {
		return withCode(exitError, fmt.Errorf("service installed but did not start: %w", err))
	}
	fmt.Fprintf(stdout, "installed and started service %q: %s %s\n", serviceName, target, strings.Join(args, " "))
	fmt.Fprintf(stdout, "depends on EventLog, delayed automatic start, restarts after %v on failure\n", serviceRestartDelays)
	fmt.Fprintf(stdout, "findings go to the Application log, source %q; state in %s\n", serviceName, o.State)
	return nil
}

// copyExecutable copies the running binary to target (creating its
// folder), through a temporary file renamed into place.
func copyExecutable(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := to + ".new"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, to)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
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
