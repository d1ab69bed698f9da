package engine

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/rules"
)

// benchEvents builds n events that the built-in pack selects (every
// (provider, id) its rules can match, in turn), spread over 40 hosts and
// 2000 clients, one every 3 seconds, with a date in %1 where countdown
// rules parse one.
func benchEvents(set *rules.Set, n int) []*evtx.Event {
	refs := set.Selects()
	out := make([]*evtx.Event, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range out {
		r := refs[i%len(refs)]
		client := fmt.Sprintf("WS-%04d", (i*7919)%2000)
		out[i] = &evtx.Event{
			Provider: r.Provider, EventID: r.ID, Level: 2, TimeCreated: base.Add(time.Duration(i) * 3 * time.Second),
			Computer: fmt.Sprintf("RDSH-%02d", i%40), RecordID: uint64(i + 1), Channel: "System",
			Params: []string{client, "LS01.corp.example", "Per Device", "2/15/2024"},
			Data:   map[string]string{"Param1": client},
			File:   "bench.evtx",
		}
	}
	return out
}

// BenchmarkEngineBuiltin measures engine throughput through the built-in
// pack on events the decoder's filter would pass (the engine's real load).
func BenchmarkEngineBuiltin(b *testing.B) {
	set, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	if len(set.Rules) == 0 {
		b.Skip("built-in pack has no rules")
	}
	evs := benchEvents(set, 200000)
	b.ResetTimer()
	start := time.Now()
	total := 0
	for i := 0; i < b.N; i++ {
		e := New(set, Options{})
		for _, ev := range evs {
			e.Feed(ev)
		}
		e.Finish()
		total += len(evs)
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkScanRealLog decodes a real System log with the built-in pack's
// filter and feeds the engine: the scan path on real bytes.
func BenchmarkScanRealLog(b *testing.B) {
	path := corpusFile(b, "2-vss_7-System.evtx")
	set, err := rules.Builtin()
	if err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	records := 0
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e := New(set, Options{})
		s, err := evtx.DecodeFile(path, evtx.Options{Filter: set.Filter()}, e.Feed)
		if err != nil {
			b.Fatal(err)
		}
		e.Finish()
		records += s.Records
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
}
