package source

import (
	"bytes"
	"math/rand"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// TestMutatedBundles walks 240 damaged copies of real bundles (byte flips,
// truncations, swapped blocks): no panic, no hang, every event accounted for
// in the stats, every problem named with its file and reason.
func TestMutatedBundles(t *testing.T) {
	files, _ := corpusFiles(t)
	ms := []member{
		{"logs/System.evtx", files["system.evtx"]},
		{"logs/Security.evtx", files["Security_short_selected.evtx"]},
		{"logs/SysEvent.Evt", evtLog(t, "A", 40)},
		{"logs/rcm.xml", xmlExport("B", 10)},
		{"notes.txt", []byte("notes")},
	}
	bases := [][]byte{zipOf(t, ms...), gz(tarOf(t, ms...)), tarOf(t, ms...), zipOf(t, member{"in.tgz", gz(tarOf(t, ms...))})}
	rng := rand.New(rand.NewSource(9))
	for i := 0; i < 240; i++ {
		b := mutate(rng, bases[i%len(bases)])
		done := make(chan struct{})
		var st evtx.Stats
		var n int
		go func() {
			defer close(done)
			st, _ = Walk([]string{"-"}, Options{Stdin: bytes.NewReader(b)}, func(*evtx.Event) error { n++; return nil })
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("mutation %d: walk still running after 2 minutes (hang)", i)
		}
		if n != st.Matched {
			t.Fatalf("mutation %d: %d events delivered, stats say %d", i, n, st.Matched)
		}
		for _, d := range append(st.Unreadable, st.Damages...) {
			if d.File == "" || d.Reason == "" {
				t.Fatalf("mutation %d: problem without file or reason: %+v", i, d)
			}
		}
	}
}

func mutate(rng *rand.Rand, orig []byte) []byte {
	b := append([]byte(nil), orig...)
	switch rng.Intn(3) {
	case 0:
		for k := 0; k < 1+rng.Intn(20); k++ {
			b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
		}
	case 1:
		b = b[:rng.Intn(len(b))]
	case 2:
		const block = 4096
		if len(b) > 3*block {
			i, j := rng.Intn(len(b)/block-1), rng.Intn(len(b)/block-1)
			tmp := append([]byte(nil), b[i*block:(i+1)*block]...)
			copy(b[i*block:], b[j*block:(j+1)*block])
			copy(b[j*block:], tmp)
		}
	}
	return b
}
