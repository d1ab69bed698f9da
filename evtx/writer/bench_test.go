package writer_test

import (
	"io"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// countingDiscard counts bytes so the benchmark reports MB/s of EVTX.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error)    { c.n += int64(len(p)); return len(p), nil }
func (c *countingDiscard) Seek(int64, int) (int64, error) { return c.n, nil }

// BenchmarkWrite measures encoding throughput over the payload shapes the
// scenarios use (records/s and MB/s of file written).
func BenchmarkWrite(b *testing.B) {
	recs := shapeCases()
	out := &countingDiscard{}
	w := writer.New(io.WriteSeeker(out))
	b.ReportAllocs()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r := recs[i%len(recs)]
		r.TimeCreated = base.Add(time.Duration(i) * time.Millisecond)
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/secs, "records/s")
	b.ReportMetric(float64(out.n)/secs/1e6, "MB/s")
}
