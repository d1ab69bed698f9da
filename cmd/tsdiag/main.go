package main

import (
	"os"
	"runtime/debug"
)

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneGC trades a little memory for speed: decoding allocates many small,
// short-lived values, and at Go's default GOGC=100 the collector took a core's
// worth of time from the parallel chunk decoders (two cores ran 1.40x one core;
// at 400, 1.69x on `tsdiag events` of a 500 MB log). The soft limit keeps the
// heap, and so peak RSS, bounded whatever the input size. GOGC and GOMEMLIMIT
// in the environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
}
