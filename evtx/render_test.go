package evtx

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// oldJSON is the line shape `tsdiag events` wrote with encoding/json before
// AppendJSON; AppendJSON must write the same bytes.
type oldJSON struct {
	Provider     string            `json:"provider"`
	ProviderGUID string            `json:"provider_guid"`
	EventID      uint16            `json:"event_id"`
	Qualifiers   uint16            `json:"qualifiers"`
	Level        uint8             `json:"level"`
	Time         string            `json:"time"`
	RecordID     uint64            `json:"record_id"`
	Channel      string            `json:"channel"`
	Computer     string            `json:"computer"`
	UserSID      string            `json:"user_sid"`
	Data         map[string]string `json:"data"`
	Params       []string          `json:"params"`
}

func encodingJSON(t testing.TB, ev *Event) []byte {
	j := oldJSON{Provider: ev.Provider, ProviderGUID: ev.ProviderGUID, EventID: ev.EventID, Qualifiers: ev.Qualifiers,
		Level: ev.Level, Time: ev.TimeCreated.UTC().Format(jsonTimeLayout), RecordID: ev.RecordID, Channel: ev.Channel,
		Computer: ev.Computer, UserSID: ev.UserSID, Data: ev.Data, Params: ev.Params}
	if j.Data == nil {
		j.Data = map[string]string{}
	}
	if j.Params == nil {
		j.Params = []string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// treeOutput renders path through Events and their trees, the path
// `tsdiag events` took before the direct renderer.
func treeOutput(t testing.TB, path string, mode Render) ([]byte, Stats) {
	var out []byte
	st, err := DecodeFile(path, Options{KeepTree: mode == RenderXML}, func(ev *Event) error {
		if mode == RenderXML {
			out = append(ev.AppendXML(out), '\n')
		} else {
			want := encodingJSON(t, ev)
			n := len(out)
			out = AppendJSON(out, ev)
			if !bytes.Equal(out[n:], want) {
				t.Fatalf("%s record %d: AppendJSON\n%s\nencoding/json\n%s", path, ev.RecordID, out[n:], want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

func renderOutput(t testing.TB, path string, mode Render, workers int) ([]byte, Stats) {
	var out []byte
	st, err := DecodeFile(path, Options{Render: mode, Workers: workers, Output: func(b []byte) error {
		out = append(out, b...)
		return nil
	}}, func(*Event) error { t.Fatal("rendering must not deliver events"); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// compareRender checks that the direct renderer writes, sequentially and on
// two workers, exactly what the tree path writes, with the same stats.
func compareRender(t *testing.T, path string) {
	for _, mode := range []Render{RenderJSONL, RenderXML} {
		want, wst := treeOutput(t, path, mode)
		for _, workers := range []int{1, 2} {
			got, gst := renderOutput(t, path, mode, workers)
			if !bytes.Equal(got, want) {
				gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Fatalf("%s mode %d workers %d line %d:\n got %s\nwant %s", filepath.Base(path), mode, workers, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s mode %d workers %d: %d lines, want %d", filepath.Base(path), mode, workers, len(gl), len(wl))
			}
			if gst.direct < gst.Matched*9/10 {
				t.Fatalf("%s mode %d workers %d: only %d of %d records rendered directly", filepath.Base(path), mode, workers, gst.direct, gst.Matched)
			}
			gst.direct, gst.planned = 0, 0
			if fmt.Sprint(gst) != fmt.Sprint(wst) {
				t.Fatalf("%s mode %d workers %d: stats\n got %+v\nwant %+v", filepath.Base(path), mode, workers, gst, wst)
			}
		}
	}
}

func TestRenderMatchesTreeOnCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.evtx"))
	if len(files) == 0 {
		t.Skip("no corpus files")
	}
	for _, f := range files {
		compareRender(t, f)
	}
}

// oddLog writes, with the project's encoder, records that exercise every
// value type, arrays, markup values, UserData, repeated and empty names,
// characters JSON and XML must escape, and several hosts.
func oddLog(t testing.TB, path string, extra ...writer.Record) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	at := time.Date(2024, 3, 1, 12, 0, 0, 123456700, time.UTC)
	vals := []writer.Value{writer.String("a\"b\\c\n\r\t\x01\u2028<&>'é😀"), writer.AnsiString("ansi"), writer.Int8(-5),
		writer.Uint8(200), writer.Int16(-300), writer.Uint16(60000), writer.Int32(-70000), writer.Uint32(4000000000),
		writer.Int64(-1 << 40), writer.Uint64(1 << 63), writer.Real32(1.5), writer.Real64(-2.25e-10), writer.Bool(true),
		writer.Binary([]byte{0, 1, 0xab}), writer.GUID("{12345678-9ABC-DEF0-1234-56789ABCDEF0}"), writer.SizeT(0x24c),
		writer.FileTime(at), writer.SysTime(at), writer.SID("S-1-5-21-1-2-3-500"), writer.Hex32(0xbeef), writer.Hex64(0xdeadbeef),
		writer.String(""), writer.Null(),
		writer.ArrayOf(writer.TypeString, writer.String("x"), writer.String(""), writer.String("z")),
		writer.ArrayOf(writer.TypeUint16, writer.Uint16(1), writer.Uint16(2)),
		writer.BinXml(writer.Element{Name: "Inner", Attrs: []writer.Attr{{Name: "k", Value: "v'\"<"}}, Text: "t&",
			Children: []writer.Element{{Name: "Leaf", Text: "x\ny"}, {Name: "Empty"}}}),
	}
	var recs []writer.Record
	for i, host := range []string{"RDSH01", "  LS01 ", "rdsh01.contoso.com"} {
		base := writer.Record{Provider: "Microsoft-Windows-TerminalServices-Licensing", ProviderGUID: "{4D5AE6A1-C7C8-4E6D-B840-4D8080B42E1B}",
			EventID: uint16(4105 + i), Level: uint8(i + 2), TimeCreated: at.Add(time.Duration(i) * time.Minute), Channel: "System",
			Computer: host, UserSID: "S-1-5-18", ProcessID: 4, ThreadID: 8}
		r := base
		r.Payload = writer.UnnamedData(vals...)
		recs = append(recs, r)
		r = base
		names := make([]string, len(vals))
		for j := range names {
			names[j] = fmt.Sprintf("N%02d", len(vals)-j)
		}
		names[3], names[5] = "Dup", "Dup"
		r.Payload = writer.Payload{Shape: writer.Named, Names: names, Values: vals}
		recs = append(recs, r)
		r = base
		r.Payload = writer.EventXML(vals...)
		recs = append(recs, r)
		r = base
		r.Provider, r.ProviderGUID, r.EventSourceName, r.Qualifiers = "TermService", "", "TermService", 49152
		r.Payload = writer.ClassicData("one", "", "three & <four>")
		r.Payload.Binary = []byte{1, 2}
		recs = append(recs, r)
		r = base
		r.Payload = writer.Payload{}
		recs = append(recs, r)
	}
	recs = append(recs, extra...)
	for range 40 { // several chunks
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestRenderMatchesTreeOnWrittenLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.evtx")
	oddLog(t, path)
	compareRender(t, path)
}

// TestRenderBoundsBombs: the template expansion bomb is bounded on the
// rendering path exactly as on the tree path (same damage, and the
// licensing chunk after it read whole).
func TestRenderBoundsBombs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bomb.evtx")
	if err := os.WriteFile(path, fileWith(bombChunk(), bombChunk(), licensingChunk(t, "RDSH01", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	compareRender(t, path)
	out, st := renderOutput(t, path, RenderJSONL, 2)
	if st.DamagedRecords == 0 || bytes.Count(out, []byte(`"computer":"RDSH01"`)) != 10 {
		t.Fatalf("bomb: %d damaged records, output %q", st.DamagedRecords, out)
	}
}

// TestXMLOfCorpusParses decodes the XML of every corpus file and of a
// written log full of characters XML must escape, wrapped in <Events> as
// `tsdiag events --format xml` writes it, with encoding/xml: one document,
// one event per line, as many events as records.
func TestXMLOfCorpusParses(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.evtx"))
	odd := filepath.Join(t.TempDir(), "odd.evtx")
	oddLog(t, odd)
	for _, f := range append(files, odd) {
		out, st := renderOutput(t, f, RenderXML, 2)
		if lines := bytes.Count(out, []byte("\n")); lines != st.Matched {
			t.Fatalf("%s: %d lines for %d events", filepath.Base(f), lines, st.Matched)
		}
		doc := append(append([]byte("<Events>\n"), out...), "</Events>\n"...)
		dec := xml.NewDecoder(bytes.NewReader(doc))
		events, depth := 0, 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			switch tok.(type) {
			case xml.StartElement:
				if depth == 1 {
					events++
				}
				depth++
			case xml.EndElement:
				depth--
			}
		}
		if events != st.Matched {
			t.Fatalf("%s: %d events parsed, %d decoded", filepath.Base(f), events, st.Matched)
		}
	}
}

// wellFormed reports why b is not one well-formed XML element, or "".
func wellFormed(b []byte) string {
	if bytes.ContainsAny(b, "\n\r") {
		return "raw line break"
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err.Error()
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 {
				return "text outside the element"
			}
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Sprintf("%d root elements", roots)
	}
	return ""
}

// FuzzXMLWriter: whatever names and values an event holds, Event.XML() is
// one well-formed element on one line that encoding/xml reads, and a value
// reads back as written (less the characters XML cannot hold). The seeds
// run in every `go test`; fuzz with -fuzz FuzzXMLWriter.
func FuzzXMLWriter(f *testing.F) {
	f.Add("Data", "Name", "value", "target", "pi data")
	f.Add("", "", "\x00\x01\n\r\t", "xml", "?>")
	f.Add("1bad name", "a b", "]]>&<'\"", "x:y:z", "\uFFFE\uFFFF")
	f.Add("é:ü", "Name", "\xff\xfe", "Xml", "a?>b\n")
	f.Add("-x", "xmlns", "\u2028", "?", "")
	f.Fuzz(func(t *testing.T, name, attr, value, target, data string) {
		root := &Node{Name: name, Attrs: []Attr{{attr, value}, {attr, "again"}, {"Name", value}}, Text: value,
			Children: []*Node{{Name: "?" + target, Text: data}, {Name: attr, Text: value}, {Name: name}}}
		x := root.xmlForTest()
		if why := wellFormed([]byte(x)); why != "" {
			t.Fatalf("not well-formed (%s): %q", why, x)
		}
		var back struct {
			Chardata string `xml:",chardata"`
		}
		if err := xml.Unmarshal([]byte(x), &back); err != nil {
			t.Fatalf("%v: %q", err, x)
		}
		if want := xmlSafe(value); !strings.HasPrefix(name, "?") && !strings.HasPrefix(back.Chardata, want) {
			t.Fatalf("text %q reads back as %q", want, back.Chardata)
		}
	})
}

func (n *Node) xmlForTest() string { return (&Event{Tree: n}).XML() }

// xmlSafe is s as the strict writer keeps it: control characters as
// U+F700+c, what else XML cannot hold as U+FFFD. (encoding/xml reads a CR
// reference back as CR.)
func xmlSafe(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
			b.WriteRune(ctrlBase + r)
		} else if xmlChar(r, s[i:]) {
			b.WriteRune(r)
		} else {
			b.WriteRune('\uFFFD')
		}
	}
	return b.String()
}

// FuzzRenderXML: records written by the encoder with arbitrary element
// names and values render, on the direct path, to the tree path's bytes,
// and to well-formed XML.
func FuzzRenderXML(f *testing.F) {
	f.Add("Name", "value", "Inner", "text")
	f.Add("", "\x01\n", "a b", "]]>")
	f.Add("1x", "\uFFFE", "x:y", "&amp;")
	f.Fuzz(func(t *testing.T, name, value, elem, text string) {
		path := filepath.Join(t.TempDir(), "f.evtx")
		rec := writer.Record{Provider: "P", EventID: 1, Channel: "System", Computer: "H", TimeCreated: time.Unix(1e9, 0),
			Payload: writer.Payload{Shape: writer.Named, Names: []string{name, "b"}, Values: []writer.Value{writer.String(value),
				writer.BinXml(writer.Element{Name: elem, Text: text, Attrs: []writer.Attr{{Name: elem, Value: value}}})}}}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := writer.New(f)
		if w.Write(rec) != nil || w.Close() != nil {
			f.Close()
			t.Skip("the encoder refuses these names")
		}
		f.Close()
		for _, mode := range []Render{RenderJSONL, RenderXML} {
			want, _ := treeOutput(t, path, mode)
			got, _ := renderOutput(t, path, mode, 1)
			if !bytes.Equal(got, want) {
				t.Fatalf("mode %d:\n got %q\nwant %q", mode, got, want)
			}
			if mode == RenderXML {
				for _, line := range bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")) {
					if why := wellFormed(line); why != "" {
						t.Fatalf("not well-formed (%s): %q", why, line)
					}
				}
			}
		}
	})
}

// FuzzAppendJSONString: the hand-written JSON quoting equals encoding/json's
// (HTML escaping off) for any string, valid UTF-8 or not.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text, long enough for words", "\"\\\b\f\n\r\t\x00\x1f\x7f",
		"é😀\u2028\u2029", "\xff\xfe\xc3", "0123456\"89abcdef", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		if got := appendJSONString(nil, []byte(s)); !bytes.Equal(got, want) {
			t.Fatalf("%q as bytes: got %s, want %s", s, got, want)
		}
	})
}
