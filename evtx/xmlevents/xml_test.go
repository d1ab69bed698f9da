package xmlevents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx"
)

func corpusDirOrEmpty() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "evtx-samples")
}

func corpusDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "evtx-samples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus not found at %s (../shared is absent): %v", dir, err)
	}
	return dir
}

// dumpXML renders a corpus file with python-evtx, the independent source of
// real event XML.
func dumpXML(t testing.TB, name string) []byte {
	tool, err := exec.LookPath("evtx_dump.py")
	if err != nil {
		t.Skip("evtx_dump.py not installed (apt-get install python3-evtx)")
	}
	out, err := exec.Command(tool, filepath.Join(corpusDir(t), name)).Output()
	if err != nil {
		t.Fatalf("evtx_dump.py %s: %v", name, err)
	}
	return out
}

func decodeAll(t testing.TB, b []byte, opts Options) ([]*evtx.Event, evtx.Stats) {
	t.Helper()
	var evs []*evtx.Event
	st, err := Decode(bytes.NewReader(b), "test.xml", opts, func(e *evtx.Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return evs, st
}

// summary is what both parsers must agree on for each event.
type summary struct {
	RecordID string   `json:"rid"`
	EventID  string   `json:"id"`
	Provider string   `json:"prov"`
	Time     string   `json:"time"`
	Params   []string `json:"params"`
}

const etreeScript = `
import json, sys, xml.etree.ElementTree as ET
NS = '{http://schemas.microsoft.com/win/2004/08/events/event}'
for ev in ET.parse(sys.argv[1]).getroot():
    s = ev.find(NS + 'System')
    p = s.find(NS + 'Provider')
    params = []
    for sec in ev:
        if sec.tag == NS + 'EventData':
            params += [d.text or '' for d in sec if d.tag == NS + 'Data']
        elif sec.tag == NS + 'UserData':
            for el in sec:
                params += [c.text or '' for c in el]
    print(json.dumps({'rid': s.find(NS + 'EventRecordID').text, 'id': s.find(NS + 'EventID').text,
        'prov': p.get('Name') or p.get('EventSourceName') or '',
        'time': s.find(NS + 'TimeCreated').get('SystemTime'), 'params': params}))
`

// TestAgainstElementTree reads python-evtx's XML of real logs and compares
// every event with what Python's ElementTree reads from the same bytes.
func TestAgainstElementTree(t *testing.T) {
	// python-evtx fails on the RCM log, so System and Security logs carry
	// the UserData shape here.
	for _, name := range []string{"2-vss_7-System.evtx", "Security_short_selected.evtx", "Security_with_size_t.evtx"} {
		t.Run(name, func(t *testing.T) {
			raw := dumpXML(t, name)
			path := filepath.Join(t.TempDir(), "dump.xml")
			os.WriteFile(path, raw, 0o644)
			out, err := exec.Command("python3", "-c", etreeScript, path).Output()
			if err != nil {
				t.Fatalf("python3 ElementTree: %v", err)
			}
			var want []summary
			for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
				var s summary
				if err := json.Unmarshal(line, &s); err != nil {
					t.Fatal(err)
				}
				want = append(want, s)
			}
			evs, st := decodeAll(t, raw, Options{})
			if len(st.Damages) != 0 || len(evs) != len(want) || len(want) == 0 {
				t.Fatalf("read %d events (python %d), damages %+v", len(evs), len(want), st.Damages)
			}
			for i, e := range evs {
				got := summarize(e)
				if !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("event %d:\n ours   %+v\n python %+v", i, got, want[i])
				}
			}
		})
	}
}

func summarize(e *evtx.Event) summary {
	sys := e.Tree.Child("System")
	params := e.Params
	if params == nil {
		params = []string{}
	}
	return summary{
		RecordID: fmt.Sprint(e.RecordID), EventID: fmt.Sprint(e.EventID), Provider: e.Provider,
		Time: sys.Child("TimeCreated").Attr("SystemTime"), Params: params,
	}
}

func utf16Bytes(s string, bigEndian, bom bool) []byte {
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// TestShapesAndEncodings reads the same real events as every export shape
// Windows produces, in UTF-8 and UTF-16.
func TestShapesAndEncodings(t *testing.T) {
	raw := string(dumpXML(t, "Security_short_selected.evtx"))
	ref, _ := decodeAll(t, []byte(raw), Options{})
	body := raw[strings.Index(raw, "<Events>")+len("<Events>") : strings.LastIndex(raw, "</Events>")]
	bare := strings.TrimSpace(body)                                                               // wevtutil qe /f:xml
	perLine := strings.ReplaceAll(strings.ReplaceAll(bare, "\n", ""), "</Event>", "</Event>\r\n") // ToXml() per record
	viewer := "\ufeff<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Events>" + body + "</Events>"

	cases := map[string][]byte{
		"wevtutil":              []byte(bare),
		"get-winevent":          []byte(perLine),
		"utf8-bom":              append([]byte{0xEF, 0xBB, 0xBF}, bare...),
		"viewer-utf16le-bom":    utf16Bytes(viewer, false, false),
		"wevtutil-utf16le-bare": utf16Bytes(bare, false, false),
		"utf16be-bom":           utf16Bytes(bare, true, true),
		"utf16le-bom":           utf16Bytes(bare, false, true),
	}
	for name, b := range cases {
		if !IsXML(b) {
			t.Errorf("%s: IsXML false", name)
		}
		evs, st := decodeAll(t, b, Options{})
		if len(st.Damages) > 0 || len(evs) != len(ref) {
			t.Fatalf("%s: %d events (want %d), damages %+v", name, len(evs), len(ref), st.Damages)
		}
		for i := range evs {
			if a, b := summarize(evs[i]), summarize(ref[i]); !reflect.DeepEqual(a, b) {
				t.Fatalf("%s event %d: %+v != %+v", name, i, a, b)
			}
		}
	}
}

const sample = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='TermService'/>` +
	`<EventID Qualifiers='49152'>1008</EventID><Level>2</Level><TimeCreated SystemTime='2006-03-14T09:30:00.000Z'/>` +
	`<EventRecordID>5</EventRecordID><Channel>System</Channel><Computer>TS</Computer><Security/></System>` +
	`<EventData><Data></Data><Data>x &amp; y</Data></EventData><RenderingInfo Culture='en-US'><Message>The grace period has expired</Message>` +
	`<Level>Error</Level></RenderingInfo></Event>`

func TestDecodeOne(t *testing.T) {
	e, err := DecodeOne(sample)
	if err != nil {
		t.Fatal(err)
	}
	if e.Provider != "TermService" || e.EventID != 1008 || e.Qualifiers != 49152 || e.RecordID != 5 ||
		!reflect.DeepEqual(e.Params, []string{"", "x & y"}) || e.Tree.Child("RenderingInfo") != nil {
		t.Fatalf("decoded %+v", e)
	}
	if _, err := DecodeOne(sample + sample); err == nil {
		t.Fatal("two events accepted by DecodeOne")
	}
	if _, err := DecodeOne(sample[:200]); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("truncated event: %v", err)
	}
}

func TestErrorsNameLine(t *testing.T) {
	doc := "<Events>\n" + sample + "\n" + sample + "\n<Event><System>\n<Provider Name='x'/>\n</Sys>\n</Event></Events>"
	evs, st := decodeAll(t, []byte(doc), Options{})
	if len(evs) != 2 || len(st.Damages) != 1 || !strings.Contains(st.Damages[0].Reason, "line 6") ||
		st.Damages[0].File != "test.xml" || st.DamagedRecords != 1 {
		t.Fatalf("%d events, stats %+v", len(evs), st)
	}
	_, err := Decode(strings.NewReader("<html><body/></html>"), "page.xml", Options{}, nil)
	if !errors.Is(err, ErrNotEventXML) || !strings.Contains(err.Error(), "page.xml") {
		t.Fatalf("non-event XML: %v", err)
	}
	_, err = Decode(strings.NewReader("hello"), "notes.txt", Options{}, nil)
	if !errors.Is(err, ErrNotEventXML) || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("text: %v", err)
	}
}

func TestLimits(t *testing.T) {
	deep := "<Events>" + sample + "<Event><System>" + strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000) +
		"</System></Event>" + sample + "</Events>"
	evs, st := decodeAll(t, []byte(deep), Options{})
	if len(evs) != 2 || len(st.Damages) != 1 || !strings.Contains(st.Damages[0].Reason, "deeper than 64") || st.DamagedRecords != 1 {
		t.Fatalf("depth bomb: %d events, %+v", len(evs), st.Damages)
	}
	top := strings.Repeat("<Events>", 1000)
	if _, st := decodeAll(t, []byte(top), Options{}); len(st.Damages) != 1 || !strings.Contains(st.Damages[0].Reason, "deeper") {
		t.Fatalf("top-level depth bomb: %+v", st.Damages)
	}
	// One text token over the limit: the decoder fails inside it and the
	// read resumes at the next event.
	big := "<Events>" + sample + "<Event><EventData><Data>" + strings.Repeat("A", 3<<20) + "</Data></EventData></Event>\n" + sample + "</Events>"
	evs, st = decodeAll(t, []byte(big), Options{MaxBytes: 1 << 20})
	if len(evs) != 2 || len(st.Damages) != 1 || !strings.Contains(st.Damages[0].Reason, "larger than 1048576 bytes") {
		t.Fatalf("size limit: %d events, %+v", len(evs), st.Damages)
	}
	// Many small children: over the limit without any one token being so.
	wide := "<Events>" + sample + "<Event><EventData>" + strings.Repeat("<Data>x</Data>", 200000) + "</EventData></Event>" + sample + sample + "</Events>"
	evs, st = decodeAll(t, []byte(wide), Options{MaxBytes: 1 << 20, MaxElements: 1 << 30})
	if len(evs) != 3 || len(st.Damages) != 1 || !strings.Contains(st.Damages[0].Reason, "larger than 1048576 bytes") || st.DamagedRecords != 1 {
		t.Fatalf("wide event: %d events, %+v", len(evs), st.Damages)
	}
	// A bare sequence (wevtutil qe without /e) resumes the same way, and a
	// syntax error inside an event costs only that event.
	bare := sample + "<Event><System><Provider Name='x'/></Sys></Event>\n" + sample
	evs, st = decodeAll(t, []byte(bare), Options{})
	if len(evs) != 2 || len(st.Damages) != 1 || st.DamagedRecords != 1 || !strings.Contains(st.Damages[0].Reason, "line 1") {
		t.Fatalf("syntax error mid-file: %d events, %+v", len(evs), st.Damages)
	}
}

func TestFilter(t *testing.T) {
	doc := sample + strings.Replace(sample, "1008", "1004", 1)
	evs, st := decodeAll(t, []byte(doc), Options{Filter: func(p string, id uint16) bool { return id == 1004 }})
	if len(evs) != 1 || evs[0].EventID != 1004 || st.Records != 2 || st.Matched != 1 {
		t.Fatalf("%d events, %+v", len(evs), st)
	}
}

func FuzzXMLReader(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("<Events>" + sample + sample + "</Events>"))
	f.Add(utf16Bytes(sample, false, true))
	f.Add([]byte("<?xml version=\"1.1\"?><Events><Event><UserData><E><P1>a</P1></E></UserData></Event></Events>"))
	// Real events rendered as Windows renders them, when the corpus is here.
	if paths, _ := filepath.Glob(filepath.Join(corpusDirOrEmpty(), "*.evtx")); len(paths) > 0 {
		for _, p := range paths[:min(len(paths), 6)] {
			var doc bytes.Buffer
			n := 0
			evtx.DecodeFile(p, evtx.Options{KeepTree: true}, func(e *evtx.Event) error {
				if n++; n <= 3 {
					doc.WriteString(e.XML())
				}
				return nil
			})
			f.Add(doc.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		opts := Options{MaxDepth: 16, MaxBytes: 1 << 16, MaxValue: 64}
		st, err := Decode(bytes.NewReader(b), "fuzz.xml", opts, func(*evtx.Event) error { return nil })
		if err != nil && !errors.Is(err, ErrNotEventXML) {
			t.Fatalf("unexpected error: %v", err)
		}
		if err == nil && st.Records > len(b)/len("<Event/>")+1 {
			t.Fatalf("%d records from %d bytes", st.Records, len(b))
		}
	})
}

func TestControlCharacters(t *testing.T) {
	doc := "<Event><System><Computer>A\x01B</Computer></System><EventData><Data Name='x\x1f'>a\x03b\x00</Data></EventData></Event>"
	evs, st := decodeAll(t, []byte(doc), Options{})
	if len(evs) != 1 || len(st.Damages) > 0 || evs[0].Param(1) != "a\x03b\x00" || evs[0].Computer != "A\x01B" ||
		evs[0].Data["x\x1f"] != "a\x03b\x00" {
		t.Fatalf("%d events, %+v, damages %+v", len(evs), evs, st.Damages)
	}
}

// TestANSIExport reads an export saved in the Windows-1252 code page (as
// PowerShell's Out-File -Encoding Default writes it), through a reader that
// returns one byte at a time so UTF-8 sequences split across reads are
// exercised too.
func TestANSIExport(t *testing.T) {
	doc := []byte("<Event><System><Computer>SRV-M\xdcNCHEN</Computer></System><EventData><Data>caf\xe9 \x80 \xe2\x82\xac ok</Data></EventData></Event>")
	var evs []*evtx.Event
	_, err := Decode(iotest.OneByteReader(bytes.NewReader(doc)), "ansi.xml", Options{}, func(e *evtx.Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil || len(evs) != 1 || evs[0].Computer != "SRV-MÜNCHEN" || evs[0].Param(1) != "café € € ok" {
		t.Fatalf("err %v, %+v", err, evs)
	}
}
