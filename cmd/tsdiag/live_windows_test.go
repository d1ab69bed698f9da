//go:build windows

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc/mgr"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx/live"
)

// These tests change the machine (an event source, a service, a folder
// under %ProgramFiles%): they run only as Administrator with
// TSDIAG_WINDOWS_ADMIN_TESTS=1 (the windows.yml workflow sets it).
func adminOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("TSDIAG_WINDOWS_ADMIN_TESTS") != "1" {
		t.Skip("set TSDIAG_WINDOWS_ADMIN_TESTS=1 and run as Administrator")
	}
}

// --eventlog: a finding is written to the Application log under the tsdiag
// source and reads back through the same subscription layer, its message
// bounded.
func TestEventLogSinkWrites(t *testing.T) {
	adminOnly(t)
	sink, closeLog, err := eventLogSink()
	if err != nil {
		t.Fatal(err)
	}
	mark := "tsdiag-test-" + time.Now().Format("150405.000000")
	f := engine.Finding{ID: "licensing-timed-out", Severity: "medium", Host: "RDSH01"}
	sink(f, mark+" "+strings.Repeat("😀", 20000), []byte(`{"diagnosis":"licensing-timed-out"}`))
	closeLog()
	lg, err := live.Local()
	if err != nil {
		t.Fatal(err)
	}
	q := live.Query{Channels: []string{"Application"}, Refs: []live.Ref{{Provider: serviceName, ID: 300}}, Since: time.Now().Add(-time.Hour)}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rd, err := lg.Read(q)
		if err != nil {
			t.Fatal(err)
		}
		for {
			xs, err := rd.Next(64)
			if err != nil || len(xs) == 0 {
				break
			}
			for _, x := range xs {
				if strings.Contains(x, mark) {
					rd.Close()
					ev, err := live.Decode(x, "live")
					if err != nil {
						t.Fatal(err)
					}
					if ev.EventID != 300 || !strings.Contains(x, "[cut: message too long") {
						t.Fatalf("event %d, message not bounded:\n%.400s", ev.EventID, x)
					}
					return
				}
			}
		}
		rd.Close()
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("the finding did not reach the Application log")
}

// --install-service / --uninstall-service with a freshly built tsdiag.exe:
// the service runs the copy in %ProgramFiles%\tsdiag, depends on EventLog,
// starts delayed, restarts on failure; uninstall removes it.
func TestServiceInstallUninstall(t *testing.T) {
	adminOnly(t)
	exe := filepath.Join(t.TempDir(), "tsdiag.exe")
	build := exec.Command("go", "build", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := filepath.Join(t.TempDir(), "state.json")
	out, err := exec.Command(exe, "live", "--install-service", "--state", state, "--no-config").CombinedOutput()
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	defer exec.Command(exe, "live", "--uninstall-service").Run()
	m, err := mgr.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(serviceName)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config()
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	actions, err := s.RecoveryActions()
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := servicePaths(exe, os.Getenv("ProgramFiles"))
	if !strings.Contains(strings.ToLower(cfg.BinaryPathName), strings.ToLower(want)) {
		t.Errorf("binary %s, want under %s", cfg.BinaryPathName, want)
	}
	if len(cfg.Dependencies) != 1 || !strings.EqualFold(cfg.Dependencies[0], "EventLog") || !cfg.DelayedAutoStart || cfg.StartType != mgr.StartAutomatic {
		t.Errorf("config %+v", cfg)
	}
	if len(actions) != len(serviceRestartDelays) || actions[0].Type != mgr.ServiceRestart || actions[0].Delay != time.Minute {
		t.Errorf("recovery actions %+v", actions)
	}
	// It runs: the state file appears once it subscribed.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if _, err := os.Stat(state); err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("the service wrote no state file: %v", err)
	}
	if out, err := exec.Command(exe, "live", "--uninstall-service").CombinedOutput(); err != nil {
		t.Fatalf("uninstall: %v\n%s", err, out)
	}
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		t.Fatal("service still installed after uninstall")
	}
}
