//go:build !windows

package main

import (
	"context"
	"errors"
	"io"
	"time"
)

// runCollect explains that collect gathers a Windows server's own logs,
// registry and WMI state, and points to scan for a bundle made there.
func runCollect(_ context.Context, _ string, _ time.Duration, _ io.Writer) error {
	return withCode(exitError, errors.New("collect runs on the Windows server itself (it exports its event logs, "+
		"registry keys and WMI licensing state); run it there, then here: tsdiag scan BUNDLE.zip"))
}
