package xmlevents

import (
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// TestBoundedMemory streams a 100 MB export through the reader and samples
// the heap as events arrive: memory follows one event, not the file.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 100 MB")
	}
	const target = 100 << 20
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>"))
		var written int
		for i := 0; written < target; i++ {
			n, err := fmt.Fprintf(pw, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"+
				"<Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/>"+
				"<EventID Qualifiers='16384'>7036</EventID><Level>4</Level><TimeCreated SystemTime='2024-01-01T00:00:00.%07dZ'/>"+
				"<EventRecordID>%d</EventRecordID><Channel>System</Channel><Computer>HOST%d</Computer></System>"+
				"<EventData><Data Name='param1'>Windows Update</Data><Data Name='param2'>running</Data></EventData>"+
				"<RenderingInfo Culture='en-US'><Message>The Windows Update service entered the running state.</Message></RenderingInfo></Event>\r\n",
				i%10000000, i+1, i%50)
			if err != nil {
				return
			}
			written += n
		}
		pw.Write([]byte("</Events>"))
		pw.Close()
	}()
	var peak uint64
	var ms runtime.MemStats
	st, err := Decode(pr, "big.xml", Options{}, func(e *evtx.Event) error {
		if e.RecordID%5000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || len(st.Damages) > 0 || st.Bytes < target {
		t.Fatalf("err %v, stats %+v", err, st)
	}
	t.Logf("%d events from %d MB, peak heap %.1f MB", st.Records, st.Bytes>>20, float64(peak)/(1<<20))
	if peak > 32<<20 {
		t.Fatalf("peak heap %d MB while streaming: memory grows with the input", peak>>20)
	}
}
