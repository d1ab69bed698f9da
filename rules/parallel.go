package rules

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// eachParallel calls fn(0) … fn(n-1) on up to GOMAXPROCS goroutines.
// Loading the built-in pack (TOML decoding, then compiling every expression)
// is the serial start of every scan; spread over the cores it no longer
// holds the other cores idle while a large log waits to be decoded.
// fn must only write to its own index's results.
func eachParallel(n int, fn func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}
