package source

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

// sameEvent compares everything a rule can see.
func sameEvent(a, b *evtx.Event) bool {
	x, y := *a, *b
	x.Tree, y.Tree, x.File, y.File = nil, nil, "", ""
	return reflect.DeepEqual(x, y)
}

// corpus returns the real EVTX samples by name, and each one's events as the
// decoder reads the file directly.
func corpus(t *testing.T) (map[string][]byte, map[string][]*evtx.Event) {
	return corpusFiles(t)
}

func corpusFiles(t testing.TB) (map[string][]byte, map[string][]*evtx.Event) {
	dir := corpusDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*.evtx"))
	if len(paths) == 0 {
		t.Skipf("no .evtx files in %s", dir)
	}
	files, want := map[string][]byte{}, map[string][]*evtx.Event{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		files[name] = b
		_, err = evtx.Decode(bytes.NewReader(b), name, evtx.Options{}, func(e *evtx.Event) error {
			want[name] = append(want[name], e)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return files, want
}

func members(files map[string][]byte, dir string) []member {
	var ms []member
	for name, b := range files {
		ms = append(ms, member{dir + name, b})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].name < ms[j].name })
	return ms
}

// TestCorpusInEveryContainer reads every real sample from a directory, zip,
// tar, tar.gz, a tar.gz nested in a zip, and stdin, and expects exactly the
// events the decoder reads from each file directly.
func TestCorpusInEveryContainer(t *testing.T) {
	files, want := corpus(t)
	ms := members(files, "C/Windows/System32/winevt/Logs/")
	tmp := t.TempDir()
	cases := map[string]struct {
		input  string
		prefix string // Event.File of a member, before its base name
		opts   Options
	}{
		"dir":        {corpusDir(t), corpusDir(t) + "/", Options{}},
		"dir-1core":  {corpusDir(t), corpusDir(t) + "/", Options{Workers: 1}},
		"zip":        {write(t, tmp, "b.zip", zipOf(t, ms...)), tmp + "/b.zip!C/Windows/System32/winevt/Logs/", Options{}},
		"tar":        {write(t, tmp, "b.tar", tarOf(t, ms...)), tmp + "/b.tar!C/Windows/System32/winevt/Logs/", Options{}},
		"tgz":        {write(t, tmp, "b.tgz", gz(tarOf(t, ms...))), tmp + "/b.tgz!C/Windows/System32/winevt/Logs/", Options{}},
		"nested":     {write(t, tmp, "case.zip", zipOf(t, member{"srv/logs.tar.gz", gz(tarOf(t, ms...))})), tmp + "/case.zip!srv/logs.tar.gz!C/Windows/System32/winevt/Logs/", Options{}},
		"stdin-tgz":  {"-", StdinName + "!C/Windows/System32/winevt/Logs/", Options{Stdin: bytes.NewReader(gz(tarOf(t, ms...)))}},
		"stdin-file": {"-", StdinName, Options{Stdin: bytes.NewReader(files["system.evtx"])}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := walk(t, []string{c.input}, c.opts)
			if r.err != nil || len(r.st.Unreadable) != 0 {
				t.Fatalf("err %v, unreadable %+v", r.err, r.st.Unreadable)
			}
			got := map[string][]*evtx.Event{}
			for _, e := range r.events {
				if !strings.HasPrefix(e.File, c.prefix) {
					t.Fatalf("event file %q does not start with %q", e.File, c.prefix)
				}
				got[strings.TrimPrefix(e.File, c.prefix)] = append(got[strings.TrimPrefix(e.File, c.prefix)], e)
			}
			if name == "stdin-file" {
				got = map[string][]*evtx.Event{"system.evtx": got[""]}
			}
			for file, evs := range got {
				ref := want[file]
				if len(evs) != len(ref) {
					t.Fatalf("%s: %d events, reading the file directly gives %d", file, len(evs), len(ref))
				}
				for i := range evs {
					if !sameEvent(evs[i], ref[i]) {
						t.Fatalf("%s event %d differs:\n got  %+v\n want %+v", file, i, evs[i], ref[i])
					}
				}
			}
			if name != "stdin-file" && len(got) != len(want) {
				t.Fatalf("events from %d files, want %d", len(got), len(want))
			}
		})
	}
}

// TestWrittenLicensingLogs puts EVTX files written by the project's encoder
// (licensing events of two Windows eras) in a bundle beside a 2003 .evt and
// an XML export, and reads the values back.
func TestWrittenLicensingLogs(t *testing.T) {
	var buf bytes.Buffer
	w := writer.New(&buf)
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	recs := []writer.Record{
		{Provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager", ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}",
			EventID: 1069, Level: 3, TimeCreated: t0, Channel: "System", Computer: "RDSH01.corp.example",
			Payload: writer.EventXML(writer.String("14"))},
		{Provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager", ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}",
			EventID: 1128, Level: 3, TimeCreated: t0.Add(time.Hour), Channel: "System", Computer: "RDSH01.corp.example",
			Payload: writer.EventXML(writer.String("LS01"), writer.String("CORP\\rdsh01$"))},
		{Provider: "TermService", EventID: 1004, Qualifiers: 0x8000, Level: 3, TimeCreated: t0.Add(2 * time.Hour),
			Channel: "System", Computer: "RDSH01.corp.example", Payload: writer.ClassicData("CLIENT7", "")},
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	bundle := gz(tarOf(t,
		member{"RDSH01/System.evtx", buf.Bytes()},
		member{"TS2003/SysEvent.Evt", evtLog(t, "TS2003", 2)},
		member{"RDSH02/rcm.xml", xmlExport("RDSH02", 1)},
		member{"RDSH01/msinfo.txt", []byte("System Name: RDSH01")},
	))
	p := write(t, t.TempDir(), "support.tgz", bundle)
	r := walk(t, []string{p}, Options{})
	if r.err != nil || len(r.events) != 6 || r.st.Files != 3 || len(r.st.Skipped) != 1 || len(r.st.Unreadable) != 0 {
		t.Fatalf("err %v, %d events, stats %+v", r.err, len(r.events), r.st)
	}
	for i, rec := range recs {
		e := r.events[i]
		if e.File != p+"!RDSH01/System.evtx" || e.Provider != rec.Provider || e.EventID != rec.EventID ||
			e.Qualifiers != rec.Qualifiers || !e.TimeCreated.Equal(rec.TimeCreated) || e.Computer != rec.Computer ||
			!reflect.DeepEqual(e.Params, rec.Payload.Params()) {
			t.Fatalf("record %d: got %+v\nwant %+v params %q", i, e, rec, rec.Payload.Params())
		}
	}
	if e := r.events[3]; e.Provider != "TermService" || e.EventID != 1008 || e.File != p+"!TS2003/SysEvent.Evt" {
		t.Fatalf("evt member: %+v", e)
	}
}
