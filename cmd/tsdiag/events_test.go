package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

func eventsCorpus(t *testing.T, name string) string {
	p := filepath.Join("..", "..", "..", "shared", "corpus", "evtx-samples", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus absent (%v)", err)
	}
	return p
}

func TestEventsJSONLines(t *testing.T) {
	path := eventsCorpus(t, "system.evtx")
	var out, errb bytes.Buffer
	if code := run([]string{"events", path}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := []string{"computer", "channel", "data", "event_id", "level", "params", "provider", "provider_guid",
		"qualifiers", "record_id", "time", "user_sid"}
	sort.Strings(want)
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if !reflect.DeepEqual(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
		ts, err := time.Parse(time.RFC3339Nano, m["time"].(string))
		if err != nil || !strings.HasSuffix(m["time"].(string), "Z") || !strings.Contains(m["time"].(string), ".") {
			t.Fatalf("time %q: %v", m["time"], err)
		}
		_ = ts
		if n == 0 && (m["provider"] != "EventLog" || m["event_id"] != 6009.0 || m["qualifiers"] != 32768.0 || m["record_id"] != 1.0) {
			t.Fatalf("first record: %v", m)
		}
		n++
	}
	if n != 1881 {
		t.Fatalf("%d lines, want 1881", n)
	}
	if !strings.Contains(errb.String(), "1 files, 1881 records, 0 damaged records") {
		t.Fatalf("summary: %q", errb.String())
	}
}

func TestEventsXML(t *testing.T) {
	path := eventsCorpus(t, "new-user-security.evtx")
	var out, errb bytes.Buffer
	if code := run([]string{"events", "--format", "xml", "--xml-root=false", path}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Without the root, the output is a stream of consecutive elements.
	dec := xml.NewDecoder(&out)
	n := 0
	for {
		var ev struct {
			XMLName xml.Name
			System  struct {
				EventID int `xml:"EventID"`
			} `xml:"System"`
		}
		err := dec.Decode(&ev)
		if err == io.EOF {
			break
		}
		if err != nil || ev.XMLName.Local != "Event" || ev.System.EventID == 0 {
			t.Fatalf("event %d: %v %+v", n+1, err, ev)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d events, want 4", n)
	}
}

func TestEventsBadInputs(t *testing.T) {
	good := eventsCorpus(t, "new-user-security.evtx")
	notEvtx := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notEvtx, []byte("not an event log at all"), 0o644)
	missing := filepath.Join(t.TempDir(), "missing.evtx")
	var out, errb bytes.Buffer
	code := run([]string{"events", missing, notEvtx, good}, &out, &errb)
	if code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	msg := errb.String()
	if !strings.Contains(msg, missing) || !strings.Contains(msg, notEvtx) || !strings.Contains(msg, "not an event log") {
		t.Fatalf("message must name both inputs: %q", msg)
	}
	if strings.Count(out.String(), "\n") != 4 {
		t.Fatalf("the good input must still be decoded: %q", out.String())
	}
	if code := run([]string{"events", "--format", "csv", good}, &out, &errb); code != exitError {
		t.Fatalf("bad --format: exit %d", code)
	}
}

// events reads what scan reads: a folder holding the log gives the same lines
// as the file itself.
func TestEventsReadsFolders(t *testing.T) {
	good := eventsCorpus(t, "new-user-security.evtx")
	dir := t.TempDir()
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Security.evtx"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var fromFile, fromDir, errb bytes.Buffer
	if code := run([]string{"events", good}, &fromFile, &errb); code != exitOK {
		t.Fatalf("file: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"events", dir}, &fromDir, &errb); code != exitOK {
		t.Fatalf("folder: exit %d: %s", code, errb.String())
	}
	if fromDir.Len() == 0 || fromDir.String() != fromFile.String() {
		t.Fatalf("folder gave %d bytes, file %d; want the same events", fromDir.Len(), fromFile.Len())
	}
}

// TestEventsDirectEqualsTree: the direct renderer's output equals, byte for
// byte, the tree path's (every record through an Event) on the whole shared
// corpus and on a bundle of logs written by the project's encoder, in both
// formats, on one worker and two.
func TestEventsDirectEqualsTree(t *testing.T) {
	corpus := filepath.Dir(eventsCorpus(t, "system.evtx"))
	written := filepath.Join(t.TempDir(), "written.evtx")
	f, err := os.Create(written)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for i := range 3000 {
		host := []string{"RDSH01", "RDSH02", "LS01"}[i%3]
		p := writer.NamedData("ServerName", writer.String("LS01"), "Error", writer.Uint32(uint32(i)), "Note", writer.String("line\n<two> & \"three\""))
		if i%2 == 1 {
			p = writer.EventXML(writer.String(host), writer.Hex32(0xc0000022), writer.FileTime(time.Unix(int64(1.7e9)+int64(i), 0)))
		}
		if err := w.Write(writer.Record{Provider: "Microsoft-Windows-TerminalServices-Licensing", EventID: uint16(4105 + i%4), Level: 3,
			TimeCreated: time.Unix(int64(1.7e9)+int64(i), 0), Channel: "System", Computer: host, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, format := range []string{"jsonl", "xml"} {
		for _, workers := range []int{1, 2} {
			for _, in := range []string{corpus, written} {
				var direct, tree, derr, terr bytes.Buffer
				o := eventsOptions{format: format, workers: workers, xmlRoot: true}
				if err := runEvents(&direct, &derr, []string{in}, o); err != nil {
					t.Fatal(err)
				}
				o.tree = true
				if err := runEvents(&tree, &terr, []string{in}, o); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(direct.Bytes(), tree.Bytes()) || derr.String() != terr.String() {
					t.Fatalf("%s %s workers %d: direct output (%d bytes) differs from the tree path's (%d bytes)",
						filepath.Base(in), format, workers, direct.Len(), tree.Len())
				}
				if direct.Len() < 10000 {
					t.Fatalf("%s %s: only %d bytes", filepath.Base(in), format, direct.Len())
				}
			}
		}
	}
}

// TestEventsXMLDocument: `events --format xml` of the whole shared corpus is
// one document encoding/xml reads to its end, <Events> holding one <Event>
// per line and per record; --xml-root=false writes the bare events.
func TestEventsXMLDocument(t *testing.T) {
	corpus := filepath.Dir(eventsCorpus(t, "system.evtx"))
	var out, errb bytes.Buffer
	if code := run([]string{"events", "--format", "xml", corpus}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc struct {
		XMLName xml.Name
		Events  []struct {
			XMLName xml.Name
		} `xml:",any"`
	}
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if doc.XMLName.Local != "Events" || lines[0] != "<Events>" || lines[len(lines)-1] != "</Events>" {
		t.Fatalf("root %q, first line %q, last %q", doc.XMLName.Local, lines[0], lines[len(lines)-1])
	}
	var records int
	if _, err := fmt.Sscanf(errb.String()[strings.Index(errb.String(), "files, ")+7:], "%d records", &records); err != nil {
		t.Fatalf("summary %q: %v", errb.String(), err)
	}
	if len(doc.Events) != records || len(lines)-2 != records || records < 10000 {
		t.Fatalf("%d events parsed, %d lines, %d records", len(doc.Events), len(lines)-2, records)
	}
	for i, e := range doc.Events {
		if e.XMLName.Local != "Event" {
			t.Fatalf("element %d is <%s>", i, e.XMLName.Local)
		}
	}
	out.Reset()
	if code := run([]string{"events", "--format", "xml", "--xml-root=false", eventsCorpus(t, "new-user-security.evtx")}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out.String(), "<Events>") || strings.Count(out.String(), "\n") != 4 || !strings.HasPrefix(out.String(), "<Event ") {
		t.Fatalf("bare events: %q", out.String())
	}
}
