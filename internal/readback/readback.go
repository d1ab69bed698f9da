// Package readback reads EVTX files with independent parsers — libevtx's
// evtxexport and python-evtx's evtx_dump.py — so tests can prove that what
// the project writes is real EVTX, not just something our own decoder
// agrees with.
package readback

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
)

// Record is one event as an external tool rendered it.
type Record struct {
	Provider, ProviderGUID, SourceName string
	EventID, Qualifiers                string
	RecordID                           string
	Time                               string
	Channel, Computer, UserSID         string
	Params                             []string // payload values in order; nested XML rendered compactly
	Names                              []string // Data/@Name or UserData child names, "" when unnamed
	Tool                               string   // the Tool.Name that read it
}

// Tool names an external reader.
type Tool struct {
	Name string
	Cmd  []string
}

var (
	Libevtx    = Tool{Name: "libevtx evtxexport", Cmd: []string{"evtxexport", "-f", "xml"}}
	PythonEvtx = Tool{Name: "python-evtx evtx_dump.py", Cmd: []string{"evtx_dump.py"}}
)

// Available reports whether the tool is installed.
func (t Tool) Available() bool {
	_, err := exec.LookPath(t.Cmd[0])
	return err == nil
}

// Read runs the tool on path and parses every record it printed.
func (t Tool) Read(path string) ([]Record, error) {
	args := append(append([]string(nil), t.Cmd[1:]...), path)
	cmd := exec.Command(t.Cmd[0], args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", t.Name, path, err, tail(errb.String()))
	}
	if strings.Contains(errb.String(), "Unable") || strings.Contains(errb.String(), "Traceback") {
		return nil, fmt.Errorf("%s %s reported: %s", t.Name, path, tail(errb.String()))
	}
	recs, err := parse(out.Bytes(), t.Name == PythonEvtx.Name)
	for i := range recs {
		recs[i].Tool = t.Name
	}
	return recs, err
}

func tail(s string) string {
	if len(s) > 600 {
		return "…" + s[len(s)-600:]
	}
	return s
}

var xmlDecl = regexp.MustCompile(`<\?xml[^>]*\?>`)

func parse(b []byte, python bool) ([]Record, error) {
	b = xmlDecl.ReplaceAll(b, nil)
	if !python { // evtxexport prints a banner line and bare <Event> elements
		if i := bytes.Index(b, []byte("<Event")); i >= 0 {
			b = b[i:]
		} else {
			b = nil
		}
	}
	doc, err := parseTree(append(append([]byte("<Root>"), b...), "</Root>"...))
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, ev := range doc.all("Event") {
		recs = append(recs, record(ev, python))
	}
	return recs, nil
}

func record(ev *node, python bool) Record {
	sys := ev.child("System")
	r := Record{
		Provider:     sys.child("Provider").attr("Name"),
		ProviderGUID: sys.child("Provider").attr("Guid"),
		SourceName:   sys.child("Provider").attr("EventSourceName"),
		EventID:      sys.child("EventID").text,
		Qualifiers:   sys.child("EventID").attr("Qualifiers"),
		RecordID:     sys.child("EventRecordID").text,
		Time:         sys.child("TimeCreated").attr("SystemTime"),
		Channel:      sys.child("Channel").text,
		Computer:     sys.child("Computer").text,
		UserSID:      sys.child("Security").attr("UserID"),
	}
	if ed := ev.child("EventData"); ed != nil {
		data := ed.all("Data")
		// python-evtx prints an absent (null) classic string array as one
		// empty <Data>; libevtx prints nothing.
		if python && len(data) == 1 && data[0].attr("Name") == "" && data[0].text == "" && len(data[0].kids) == 0 {
			data = nil
		}
		for _, d := range data {
			r.addData(d, d.attr("Name"), python)
		}
	}
	if ud := ev.child("UserData"); ud != nil && len(ud.kids) > 0 {
		for _, c := range ud.kids[0].kids {
			r.addData(c, c.name, python)
		}
	}
	return r
}

// python-evtx renders a string array as "<string>a</string>" lines inside
// one <Data>; libevtx repeats the element. Both become one param each.
var pyString = regexp.MustCompile(`(?s)<string>(.*?)</string>`)

func (r *Record) addData(d *node, name string, python bool) {
	if python {
		if m := pyString.FindAllStringSubmatch(d.text, -1); m != nil {
			for _, s := range m {
				r.Params = append(r.Params, s[1])
				r.Names = append(r.Names, name)
			}
			return
		}
	}
	v := d.text
	if len(d.kids) > 0 {
		v = d.kids[0].compact()
	}
	r.Params = append(r.Params, v)
	r.Names = append(r.Names, name)
}

type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  string
}

func parseTree(b []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	root := &node{}
	stack := []*node{root}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local, attrs: t.Attr}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.text += string(t)
		}
	}
}

func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *node) all(name string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		for _, k := range m.kids {
			if k.name == name {
				out = append(out, k)
				continue
			}
			walk(k)
		}
	}
	walk(n)
	return out
}

func (n *node) attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n *node) compact() string {
	var b strings.Builder
	b.WriteString("<" + n.name)
	for _, a := range n.attrs {
		fmt.Fprintf(&b, " %s=%q", a.Name.Local, a.Value)
	}
	b.WriteString(">" + strings.TrimSpace(n.text))
	for _, k := range n.kids {
		b.WriteString(k.compact())
	}
	b.WriteString("</" + n.name + ">")
	return b.String()
}
