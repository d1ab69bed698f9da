// Command tsdiag is the command-line face of the tsdiag API (package
// github.com/tsdiag/tsdiag): flags, terminal concerns (colour, progress,
// signals, the Windows service) and exit codes over the one pipeline that
// scan, demo, watch and live share; gen, events, rules and kb are the tools
// around it.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
)

func main() {
	tuneGC()
	stop := profile(os.Getenv("TSDIAG_CPUPROFILE"))
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
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

// profile writes a CPU profile of the whole run to path (TSDIAG_CPUPROFILE),
// so a slow scan on a user's machine can be profiled with the shipped binary.
func profile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tsdiag: TSDIAG_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
