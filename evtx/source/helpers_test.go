package source

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
)

type member struct {
	name string
	data []byte
}

func zipOf(t testing.TB, ms ...member) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range ms {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t testing.TB, ms ...member) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)})
		tw.Write(m.data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// evtLog is a Windows 2003 System log with n TermService events from host.
func evtLog(t testing.TB, host string, n int) []byte {
	var recs []evtenc.Record
	for i := 0; i < n; i++ {
		recs = append(recs, evtenc.Record{
			Time: time.Date(2006, 5, 1, 8, i, 0, 0, time.UTC), EventID: 0xC00003F0, Type: evtenc.Error,
			Source: "TermService", Computer: host, Strings: []string{fmt.Sprint(i), ""},
		})
	}
	b, err := evtenc.Encode(recs, evtenc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xmlExport renders events the way `wevtutil qe /f:xml` writes them.
func xmlExport(host string, n int) []byte {
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		fmt.Fprintf(&buf, `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>`+
			`<Provider Name='Microsoft-Windows-TerminalServices-RemoteConnectionManager' Guid='{C76BAA63-AE81-421C-B425-340B4B24157F}'/>`+
			`<EventID>1128</EventID><Version>0</Version><Level>3</Level><TimeCreated SystemTime='2019-02-0%dT10:00:00.000000000Z'/>`+
			`<EventRecordID>%d</EventRecordID><Channel>System</Channel><Computer>%s</Computer><Security UserID='S-1-5-20'/></System>`+
			`<UserData><EventXML xmlns='Event_NS'><Param1>%d</Param1></EventXML></UserData></Event>`, 1+i%9, i+1, host, i)
	}
	return buf.Bytes()
}

type result struct {
	files  []string // Event.File of each event, in order
	events []*evtx.Event
	st     evtx.Stats
	err    error
}

func walk(t testing.TB, inputs []string, opts Options) result {
	t.Helper()
	var r result
	r.st, r.err = Walk(inputs, opts, func(e *evtx.Event) error {
		r.events = append(r.events, e)
		r.files = append(r.files, e.File)
		return nil
	})
	return r
}

func write(t testing.TB, dir, name string, b []byte) string {
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// countByFile tallies events per Event.File.
func countByFile(files []string) map[string]int {
	m := map[string]int{}
	for _, f := range files {
		m[f]++
	}
	return m
}

func corpusDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "evtx-samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (../shared is absent): %v", dir, err)
	}
	return dir
}
