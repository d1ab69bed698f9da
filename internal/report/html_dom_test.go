package report

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// A small DOM of the generated page, so the tests read positions and
// labels from what the browser gets rather than from the renderer's
// internals. The page is regular enough (every element closed, void
// elements auto-closed) for encoding/xml in its lenient HTML mode.

type node struct {
	tag    string
	attr   map[string]string
	kids   []*node
	parent *node
	text   strings.Builder // all text under this node
}

func parsePage(t *testing.T, page string) *node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &node{tag: "#root", attr: map[string]string{}}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page does not parse: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			n := &node{tag: x.Name.Local, attr: map[string]string{}, parent: cur}
			for _, a := range x.Attr {
				n.attr[a.Name.Local] = a.Value
			}
			cur.kids = append(cur.kids, n)
			cur = n
		case xml.EndElement:
			if cur.parent != nil {
				cur = cur.parent
			}
		case xml.CharData:
			for n := cur; n != nil; n = n.parent {
				n.text.Write(x)
			}
		}
	}
	return root
}

func (n *node) hasClass(c string) bool {
	for _, x := range strings.Fields(n.attr["class"]) {
		if x == c {
			return true
		}
	}
	return false
}

// all lists the nodes under n (n excluded) that match, in document order.
func (n *node) all(match func(*node) bool) []*node {
	var out []*node
	for _, k := range n.kids {
		if match(k) {
			out = append(out, k)
		}
		out = append(out, k.all(match)...)
	}
	return out
}

func byClass(c string) func(*node) bool { return func(n *node) bool { return n.hasClass(c) } }
func byTag(tag string) func(*node) bool { return func(n *node) bool { return n.tag == tag } }

func (n *node) one(t *testing.T, what string, match func(*node) bool) *node {
	t.Helper()
	got := n.all(match)
	if len(got) != 1 {
		t.Fatalf("%d %s, want 1", len(got), what)
	}
	return got[0]
}

func (n *node) num(t *testing.T, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(n.attr[name], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.tag, name, n.attr[name], err)
	}
	return v
}

// styleNum reads a percentage from a style attribute: "left:12.5%;…".
func (n *node) styleNum(t *testing.T, prop string) float64 {
	t.Helper()
	for _, decl := range strings.Split(n.attr["style"], ";") {
		k, v, ok := strings.Cut(decl, ":")
		if ok && strings.TrimSpace(k) == prop {
			f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "%"), 64)
			if err != nil {
				t.Fatalf("style %q: %v", n.attr["style"], err)
			}
			return f
		}
	}
	t.Fatalf("<%s style=%q> has no %s", n.tag, n.attr["style"], prop)
	return 0
}
