package evtx

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	gevtx "github.com/0xrawsec/golang-evtx/evtx"
)

// benchLog builds (once) a large System-style log from the real chunks of
// the corpus' system.evtx with ../shared/tools/replicate_evtx.py. Size in MB
// from TSDIAG_BENCH_MB (default 200).
//
//	go test ./evtx -run '^$' -bench . -benchtime 1x
func benchLog(b *testing.B) (string, int64) {
	mb := 200
	if s := os.Getenv("TSDIAG_BENCH_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("TSDIAG_BENCH_MB=%q: %v", s, err)
		}
		mb = n
	}
	shared := filepath.Join("..", "..", "shared")
	src := filepath.Join(shared, "corpus", "evtx-samples", "system.evtx")
	tool := filepath.Join(shared, "tools", "replicate_evtx.py")
	for _, p := range []string{src, tool, "/usr/bin/python3"} {
		if _, err := os.Stat(p); err != nil {
			b.Skipf("benchmark input cannot be built (%v)", err)
		}
	}
	dir := filepath.Join(os.TempDir(), "tsdiag-evtx-bench")
	path := filepath.Join(dir, "system-"+strconv.Itoa(mb)+"mb.evtx")
	if _, err := os.Stat(path); err != nil {
		os.MkdirAll(dir, 0o755)
		out, err := exec.Command("/usr/bin/python3", tool, src, path, strconv.Itoa(mb)).CombinedOutput()
		if err != nil {
			b.Fatalf("replicate_evtx.py: %v\n%s", err, out)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// licensingFilter selects the licensing events of every Windows era.
func licensingFilter(provider string, id uint16) bool {
	switch provider {
	case "TermService":
		return id >= 1000 && id <= 1011 || id >= 1026 && id <= 1028
	case "Microsoft-Windows-TerminalServices-RemoteConnectionManager":
		switch id {
		case 1003, 1004, 1011, 1028, 1068, 1069:
			return true
		}
		return id >= 1128 && id <= 1133 || id >= 50180 && id <= 50285
	case "Microsoft-Windows-TerminalServices-Licensing", "TermServLicensing":
		return true
	}
	return false
}

// peakHeap samples the memory the Go runtime holds from the OS while fn
// runs (runtime/metrics, no stop-the-world) and returns the peak in MB.
func peakHeap(fn func()) float64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	return float64(peak.Load()) / 1e6
}

func benchDecode(b *testing.B, opts Options) {
	path, size := benchLog(b)
	b.SetBytes(size)
	b.ResetTimer()
	var records, matched int
	var heap float64
	for i := 0; i < b.N; i++ {
		heap = peakHeap(func() {
			st, err := DecodeFile(path, opts, func(*Event) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			records, matched = st.Records, st.Matched
		})
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(matched), "matched")
	b.ReportMetric(heap, "peak-runtime-MB")
}

func BenchmarkDecodeFull(b *testing.B) { benchDecode(b, Options{}) }

func BenchmarkDecodeFullParallel(b *testing.B) {
	benchDecode(b, Options{Workers: runtime.GOMAXPROCS(0)})
}

func BenchmarkDecodeFiltered(b *testing.B) { benchDecode(b, Options{Filter: licensingFilter}) }

func BenchmarkDecodeFilteredParallel(b *testing.B) {
	benchDecode(b, Options{Filter: licensingFilter, Workers: runtime.GOMAXPROCS(0)})
}

// BenchmarkGolangEvtxFull is the baseline: golang-evtx v1.2.9 decoding
// every record, driven chunk by chunk (its own iterators panic in
// goroutines on real files).
func BenchmarkGolangEvtxFull(b *testing.B) {
	path, size := benchLog(b)
	b.SetBytes(size)
	b.ResetTimer()
	records := 0
	for i := 0; i < b.N; i++ {
		records = 0
		var res golangEvtxResult
		if err := golangEvtxEach(path, &res, func(int64, *gevtx.GoEvtxMap) { records++ }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchRender is `tsdiag events` without the CLI: every record rendered as
// a JSON or XML line (Options.Render), the lines discarded.
func benchRender(b *testing.B, mode Render, workers int) {
	path, size := benchLog(b)
	b.SetBytes(size)
	b.ResetTimer()
	var records int
	var heap float64
	for i := 0; i < b.N; i++ {
		heap = peakHeap(func() {
			st, err := DecodeFile(path, Options{Render: mode, Workers: workers, Output: func([]byte) error { return nil }}, nil)
			if err != nil {
				b.Fatal(err)
			}
			records = st.Records
		})
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(heap, "peak-runtime-MB")
}

// Compare the four with BenchmarkGolangEvtxFull in one run:
//
//	go test ./evtx -run '^$' -bench 'Render|GolangEvtx' -benchtime 1x
func BenchmarkRenderJSONL1(b *testing.B) { benchRender(b, RenderJSONL, 1) }
func BenchmarkRenderJSONL2(b *testing.B) { benchRender(b, RenderJSONL, 2) }
func BenchmarkRenderXML1(b *testing.B)   { benchRender(b, RenderXML, 1) }
func BenchmarkRenderXML2(b *testing.B)   { benchRender(b, RenderXML, 2) }
