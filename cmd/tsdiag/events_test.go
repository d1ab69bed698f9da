package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
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
	if code := run([]string{"events", "--format", "xml", path}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// Values may hold newlines, so read the stream as consecutive elements.
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
