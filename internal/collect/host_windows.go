//go:build windows

package collect

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// maxCommandOutput bounds what one command may print into memory; the
// exports themselves go to files, not to stdout.
const maxCommandOutput = 4 << 20

// windowsHost is the machine collect runs on. Programs run from the system
// directory, never from PATH: collect usually runs elevated.
type windowsHost struct{ sys string }

// NewWindowsHost is the local machine.
func NewWindowsHost() Host {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		sys = filepath.Join(os.Getenv("SystemRoot"), "System32")
	}
	return &windowsHost{sys: sys}
}

func (h *windowsHost) Name() string {
	n, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return n
}

// Elevated is the process token's elevation (TokenElevation).
func (h *windowsHost) Elevated() bool { return windows.GetCurrentProcessToken().IsElevated() }

func (h *windowsHost) Run(ctx context.Context, prog string, args ...string) ([]byte, []byte, error) {
	path := filepath.Join(h.sys, prog)
	switch prog {
	case "powershell.exe":
		path = filepath.Join(h.sys, `WindowsPowerShell\v1.0\powershell.exe`)
	case "wevtutil", "reg":
		path += ".exe"
	}
	var out, errOut limitedBuffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// RCMNames reads the names under RCM, never a value's data.
func (h *windowsHost) RCMNames() ([]string, []string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, RCMKey, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, nil, err
	}
	defer k.Close()
	values, err := k.ReadValueNames(-1)
	if err != nil {
		return nil, nil, err
	}
	subs, err := k.ReadSubKeyNames(-1)
	return values, subs, err
}

// limitedBuffer keeps the first maxCommandOutput bytes and drops the rest.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := maxCommandOutput - b.Len(); room < len(p) {
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
