//go:build !windows

package main

import (
	"context"
	"errors"
	"io"
)

func defaultStatePath() string { return "tsdiag-live-state.json" }

// runLive explains that live mode needs Windows and points to watch.
func runLive(ctx context.Context, o liveOptions, stdout, stderr io.Writer) error {
	return withCode(exitError, errors.New("live needs the Windows Event Log API and this is not Windows; "+
		"to follow a copied or growing log here, run: tsdiag watch PATH (an .evtx file or a folder of them)"))
}
