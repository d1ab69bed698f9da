package writer

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// tnode is an element of a template (or of a template-less fragment).
type tnode struct {
	name  string
	attrs []tattr
	kids  []titem
	// dep is the substitution whose absence removes the element (Windows'
	// dependency identifier), or -1 for none.
	dep int
}

type tattr struct {
	name string
	val  titem
}

// titem is a child or attribute value: exactly one of node, text or a
// substitution (sub >= 0).
type titem struct {
	node     *tnode
	text     string
	sub      int
	subType  ValueType
	optional bool
}

func elem(name string, kids ...titem) titem {
	return titem{node: &tnode{name: name, kids: kids, dep: -1}, sub: -1}
}

// dependsOn marks the element as present only when substitution i is.
func (t titem) dependsOn(i int) titem {
	t.node.dep = i
	return t
}

func text(s string) titem { return titem{text: s, sub: -1} }

func sub(i int, t ValueType) titem { return titem{sub: i, subType: t} }

func optSub(i int, t ValueType) titem { return titem{sub: i, subType: t, optional: true} }

func (t titem) with(attrs ...tattr) titem {
	t.node.attrs = append(t.node.attrs, attrs...)
	return t
}

func attr(name string, v titem) tattr { return tattr{name: name, val: v} }

// String serializes the tree; it names templates built from elements.
func (n *tnode) String() string {
	var b strings.Builder
	b.WriteString("<" + strconv.Quote(n.name))
	for _, a := range n.attrs {
		b.WriteString(" " + strconv.Quote(a.name) + "=" + strconv.Quote(a.val.text))
	}
	b.WriteString(">")
	for _, k := range n.kids {
		if k.node != nil {
			b.WriteString(k.node.String())
		} else {
			b.WriteString(strconv.Quote(k.text))
		}
	}
	b.WriteString("</>")
	return b.String()
}

// elementTree turns a user Element into a template-less tree.
func elementTree(e Element) *tnode {
	n := &tnode{name: e.Name, dep: -1}
	for _, a := range e.Attrs {
		n.attrs = append(n.attrs, attr(a.Name, text(a.Value)))
	}
	if e.Text != "" {
		n.kids = append(n.kids, text(e.Text))
	}
	for _, c := range e.Children {
		n.kids = append(n.kids, titem{node: elementTree(c), sub: -1})
	}
	return n
}

func (c *chunk) u8(b byte)    { c.buf = append(c.buf, b) }
func (c *chunk) u16(n uint16) { c.buf = binary.LittleEndian.AppendUint16(c.buf, n) }
func (c *chunk) u32(n uint32) { c.buf = binary.LittleEndian.AppendUint32(c.buf, n) }

// placeholder reserves a 32-bit field and returns its position.
func (c *chunk) placeholder() int {
	c.u32(0)
	return len(c.buf) - 4
}

// patchSince stores at pos the byte count written after the field.
func (c *chunk) patchSince(pos int) {
	binary.LittleEndian.PutUint32(c.buf[pos:], uint32(len(c.buf)-pos-4))
}

func (c *chunk) fragmentHeader() { c.buf = append(c.buf, format.TokFragmentHeader, 1, 1, 0) }

func (c *chunk) element(n *tnode) {
	tok := byte(format.TokOpenStart)
	if len(n.attrs) > 0 {
		tok |= format.MoreFlag
	}
	c.u8(tok)
	if n.dep >= 0 {
		c.u16(uint16(n.dep))
	} else {
		c.u16(format.NoDependency)
	}
	size := c.placeholder()
	c.name(n.name)
	if len(n.attrs) > 0 {
		c.attributes(n.attrs)
	}
	if len(n.kids) == 0 {
		c.u8(format.TokCloseEmpty)
	} else {
		c.u8(format.TokCloseStart)
		for _, k := range n.kids {
			c.item(k)
		}
		c.u8(format.TokEndElement)
	}
	c.patchSince(size)
}

func (c *chunk) attributes(attrs []tattr) {
	list := c.placeholder()
	for i, a := range attrs {
		tok := byte(format.TokAttribute)
		if i < len(attrs)-1 {
			tok |= format.MoreFlag
		}
		c.u8(tok)
		c.name(a.name)
		c.item(a.val)
	}
	c.patchSince(list)
}

func (c *chunk) item(t titem) {
	switch {
	case t.node != nil:
		c.element(t.node)
	case t.sub >= 0:
		tok := byte(format.TokNormalSub)
		if t.optional {
			tok = format.TokOptionalSub
		}
		c.u8(tok)
		c.u16(uint16(t.sub))
		c.u8(byte(t.subType))
	default:
		u := utf16le(t.text)
		c.u8(format.TokValue)
		c.u8(format.TypeString)
		c.u16(uint16(len(u) / 2))
		c.buf = append(c.buf, u...)
	}
}

// name writes a reference to s, defining it inline the first time the
// chunk sees it and linking it into the chunk's 64-bucket string table.
func (c *chunk) name(s string) {
	if off, ok := c.names[s]; ok {
		c.u32(off)
		return
	}
	off := uint32(len(c.buf) + 4)
	c.u32(off)
	h := nameHash(s)
	b := h % 64
	u := utf16le(s)
	c.u32(c.strHeads[b])
	c.u16(h)
	c.u16(uint16(len(u) / 2))
	c.buf = append(c.buf, u...)
	c.u16(0)
	c.strHeads[b] = off
	c.names[s] = off
	c.added.names = append(c.added.names, s)
}

func nameHash(s string) uint16 {
	var h uint32
	for _, r := range utf16Units(s) {
		h = h*65599 + uint32(r)
	}
	return uint16(h)
}

func utf16Units(s string) []uint16 {
	b := utf16le(s)
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}

// templateInstance writes a template instance of t with vals, defining t
// inline when this chunk has not seen it yet.
func (c *chunk) templateInstance(t *template, vals []Value) error {
	c.u8(format.TokTemplate)
	c.u8(1)
	c.u32(t.id)
	if off, ok := c.tmpls[t.key]; ok {
		c.u32(off)
	} else {
		c.defineTemplate(t)
	}
	return c.values(vals)
}

func (c *chunk) defineTemplate(t *template) {
	off := uint32(len(c.buf) + 4)
	c.u32(off)
	b := t.id % 32
	c.u32(c.tmplHeads[b])
	c.buf = append(c.buf, t.guid[:]...)
	size := c.placeholder()
	c.fragmentHeader()
	c.element(t.root)
	c.u8(format.TokEOF)
	c.patchSince(size)
	c.tmplHeads[b] = off
	c.tmpls[t.key] = off
	c.added.tmpls = append(c.added.tmpls, t.key)
}

// values writes the substitution array: count, descriptors, data.
func (c *chunk) values(vals []Value) error {
	c.u32(uint32(len(vals)))
	desc := len(c.buf)
	for range vals {
		c.u32(0)
	}
	for i, v := range vals {
		start := len(c.buf)
		if err := c.value(v); err != nil {
			return fmt.Errorf("value %d: %w", i, err)
		}
		n := len(c.buf) - start
		if n > 0xffff {
			return fmt.Errorf("value %d is %d bytes, more than a substitution can hold", i, n)
		}
		binary.LittleEndian.PutUint16(c.buf[desc+4*i:], uint16(n))
		c.buf[desc+4*i+2] = byte(v.Type)
	}
	return nil
}

func (c *chunk) value(v Value) error {
	if v.err != nil {
		return v.err
	}
	switch {
	case v.Type == TypeBinXml && v.elem != nil:
		// Windows wraps nested fragments in a template instance, and
		// python-evtx relies on it; the element becomes a template
		// with literal text and no substitutions.
		c.fragmentHeader()
		root := elementTree(*v.elem)
		return c.templateInstance(newTemplate("binxml/"+root.String(), root), nil)
	case v.Type == TypeBinXml && v.classic != nil:
		c.fragmentHeader()
		return c.templateInstance(classicTemplate, v.classic)
	default:
		c.buf = v.appendTo(c.buf)
	}
	return nil
}
