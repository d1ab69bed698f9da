package evtx

import (
	"fmt"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// maxDepth bounds element and BinXml nesting so hostile input cannot
// exhaust the stack.
const maxDepth = 64

// decodeError is raised (as a panic) by bounds-checked reads and turned
// into a Damage at the record boundary.
type decodeError struct {
	off    int
	reason string
}

func (e decodeError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.reason) }

func fail(off int, format string, args ...any) {
	panic(decodeError{off, fmt.Sprintf(format, args...)})
}

// Item kinds of a parsed BinXml fragment.
const (
	itElem = iota
	itText
	itSub
	itInst
	itPI
)

// item is one piece of parsed content: an element, literal text, a
// substitution slot, a template instance, or a processing instruction.
type item struct {
	kind int
	elem *tnode
	text string
	sub  int
	opt  bool
	inst *instance
}

type tnode struct {
	name    string
	local   string // name without its prefix (localName), for the renderer
	xmlOK   bool   // name is an XML name as it is (isXMLName)
	attrs   []tattr
	content []item
}

type tattr struct {
	name  string
	local string
	xmlOK bool
	val   []item
}

// value is one substitution value: its type and where its bytes are in the
// chunk (nested BinXml refers to chunk offsets, so we keep positions).
type value struct {
	typ byte
	off int
	n   int
}

type instance struct {
	t    *template
	vals []value
}

// template is a parsed template definition with the locations of the
// fields the filter needs, so a record can be filtered without building it.
type template struct {
	root     []item
	provider []item // Provider/@Name
	source   []item // Provider/@EventSourceName
	eventID  []item // EventID content

	// sh is set on templates shared across chunks (shared.go).
	sh *sharedTemplate
	// Plans of the direct renderer (plan.go), looked up on first use.
	plans    [planKinds]*jplan
	planDone [planKinds]bool
}

// parser reads BinXml from a chunk buffer within [pos, end). What it
// builds comes from ar: the chunk's arena for template definitions (cached
// for the chunk), the record's arena for everything else.
type parser struct {
	c     *chunkState
	ar    *arena
	b     []byte
	pos   int
	end   int
	depth int
	// sh, while a template is parsed for sharing across chunks
	// (shared.go), records its name references; fragOff is where its
	// fragment starts.
	sh      *sharedTemplate
	fragOff int
}

// push adds an item to the content being collected; mark and commit bracket
// one element's (or fragment's, or attribute's) content on the scratch
// stack, so nested content can be collected without growing slices.
func (p *parser) push(it item) { p.ar.items = append(p.ar.items, it) }

func (p *parser) mark() int { return len(p.ar.items) }

func (p *parser) commit(mark int) []item { return commit(&p.ar.items, &p.ar.itemS, mark) }

func (p *parser) need(n int) {
	if n < 0 || p.pos+n > p.end {
		fail(p.pos, "BinXml runs past its end (need %d bytes, %d left)", n, p.end-p.pos)
	}
}

func (p *parser) u8() byte {
	p.need(1)
	v := p.b[p.pos]
	p.pos++
	return v
}

func (p *parser) u16() uint16 {
	p.need(2)
	v := le16(p.b[p.pos:])
	p.pos += 2
	return v
}

func (p *parser) u32() uint32 {
	p.need(4)
	v := le32(p.b[p.pos:])
	p.pos += 4
	return v
}

// utf16 reads n UTF-16 code units at the current position.
func (p *parser) utf16(n int) string {
	p.need(2 * n)
	s := p.c.utf16(p.b[p.pos : p.pos+2*n])
	p.pos += 2 * n
	return s
}

// name reads a name reference; the name structure is either elsewhere in
// the chunk (cached) or inline right here, in which case it is skipped.
func (p *parser) name() string {
	at := p.pos
	off := int(p.u32())
	if off == p.pos {
		p.need(8)
		n := int(le16(p.b[p.pos+6:]))
		s := p.c.nameAt(off)
		p.pos += 8 + 2*n + 2
		if p.pos > p.end {
			fail(off, "inline name runs past its fragment")
		}
		if p.sh != nil {
			p.noteName(at, off, s)
		}
		return s
	}
	s := p.c.nameAt(off)
	if p.sh != nil {
		p.noteName(at, off, s)
	}
	return s
}

// fragment parses tokens until EOF (or the end of the buffer, which some
// writers leave without an EOF token) and returns the content items.
func (p *parser) fragment() []item {
	p.depth++
	if p.depth > maxDepth {
		fail(p.pos, "BinXml nested deeper than %d", maxDepth)
	}
	defer func() { p.depth-- }()
	m := p.mark()
	for p.pos < p.end {
		tok := p.b[p.pos]
		switch tok &^ format.MoreFlag {
		case format.TokEOF:
			p.pos++
			return p.commit(m)
		case format.TokFragmentHeader:
			p.need(4)
			p.pos += 4
		case format.TokOpenStart:
			p.push(item{kind: itElem, elem: p.element()})
		case format.TokTemplate:
			p.push(item{kind: itInst, inst: p.templateInstance()})
		default:
			p.contentToken(tok)
		}
	}
	return p.commit(m)
}

// contentToken parses one token that may appear inside an element or an
// attribute value, pushing what it yields.
func (p *parser) contentToken(tok byte) {
	start := p.pos
	p.pos++
	switch tok &^ format.MoreFlag {
	case format.TokValue:
		p.u8() // value type; always a string in practice
		p.push(item{kind: itText, text: p.utf16(int(p.u16()))})
	case format.TokCDATA:
		p.push(item{kind: itText, text: p.utf16(int(p.u16()))})
	case format.TokCharRef:
		p.push(item{kind: itText, text: string(rune(p.u16()))})
	case format.TokEntityRef:
		p.push(item{kind: itText, text: entity(p.name())})
	case format.TokNormalSub, format.TokOptionalSub:
		id := int(p.u16())
		p.u8() // declared type; the value carries its own
		p.push(item{kind: itSub, sub: id, opt: tok == format.TokOptionalSub})
	case format.TokPITarget:
		target := p.name()
		data := ""
		if p.pos < p.end && p.b[p.pos] == format.TokPIData {
			p.pos++
			data = p.utf16(int(p.u16()))
		}
		p.push(item{kind: itPI, text: target + " " + data})
	case format.TokPIData:
		p.utf16(int(p.u16()))
	case format.TokTemplate:
		p.pos = start
		p.push(item{kind: itInst, inst: p.templateInstance()})
	default:
		fail(start, "unexpected BinXml token 0x%02x", tok)
	}
}

func entity(name string) string {
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return "\""
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// element parses an open start element token through its end.
func (p *parser) element() *tnode {
	p.depth++
	if p.depth > maxDepth {
		fail(p.pos, "elements nested deeper than %d", maxDepth)
	}
	defer func() { p.depth-- }()
	tok := p.u8()
	p.skipDependencyID()
	p.u32() // data size
	name := p.name()
	n := p.ar.nodeS.one(tnode{name: name, local: localName(name), xmlOK: isXMLName(name)})
	if tok&format.MoreFlag != 0 {
		p.u32() // attribute list size
		n.attrs = p.attributes()
	}
	switch t := p.u8(); t {
	case format.TokCloseEmpty:
		return n
	case format.TokCloseStart:
	default:
		fail(p.pos-1, "element <%s>: expected close-start token, got 0x%02x", n.name, t)
	}
	m := p.mark()
	for {
		p.need(1)
		tok := p.b[p.pos]
		switch tok &^ format.MoreFlag {
		case format.TokEndElement:
			p.pos++
			n.content = p.commit(m)
			return n
		case format.TokOpenStart:
			p.push(item{kind: itElem, elem: p.element()})
		case format.TokEOF:
			fail(p.pos, "element <%s> not closed", n.name)
		default:
			p.contentToken(tok)
		}
	}
}

// skipDependencyID skips the 2-byte dependency identifier. A few writers
// omit it; then the 4 bytes after the token are the data size directly and
// the name offset lands right after, which we detect.
func (p *parser) skipDependencyID() {
	p.need(10)
	with := int(le32(p.b[p.pos+6:]))
	without := int(le32(p.b[p.pos+4:]))
	if !p.c.plausibleName(with, p.pos+10) && p.c.plausibleName(without, p.pos+8) {
		if p.sh != nil {
			p.sh.shared = false // another chunk's names could decide otherwise
		}
		return
	}
	if p.sh != nil && with != p.pos+10 && !backName(with, p.pos+6, len(p.b)) {
		p.sh.shared = false // plausible only by the name cache
	}
	p.pos += 2
}

func (p *parser) attributes() []tattr {
	am := len(p.ar.attrs)
	for p.pos < p.end && p.b[p.pos]&^format.MoreFlag == format.TokAttribute {
		p.pos++
		name := p.name()
		m := p.mark()
		for p.pos < p.end {
			t := p.b[p.pos] &^ format.MoreFlag
			if t != format.TokValue && t != format.TokNormalSub && t != format.TokOptionalSub && t != format.TokCharRef && t != format.TokEntityRef && t != format.TokCDATA {
				break
			}
			p.contentToken(p.b[p.pos])
		}
		p.ar.attrs = append(p.ar.attrs, tattr{name: name, local: localName(name), xmlOK: isXMLName(name), val: p.commit(m)})
	}
	return commit(&p.ar.attrs, &p.ar.attrS, am)
}

// templateInstance parses a template instance: the (possibly inline)
// definition and the substitution values that follow.
func (p *parser) templateInstance() *instance {
	start := p.pos
	p.need(10)
	defOff := int(le32(p.b[p.pos+6:]))
	p.pos += 10
	if p.sh != nil {
		p.sh.shared = false // a definition inside a definition: chunk-specific
	}
	t := p.c.templateAt(defOff, p.depth)
	if defOff == p.pos {
		p.need(24)
		size := int(le32(p.b[p.pos+20:]))
		p.need(24 + size)
		p.pos += 24 + size
	}
	if t == nil {
		fail(start, "template definition at chunk offset %d is unreadable", defOff)
	}
	return p.ar.instS.one(instance{t: t, vals: p.values()})
}

// values reads the substitution value array: count, descriptors, data.
func (p *parser) values() []value {
	count := int(p.u32())
	if count > (p.end-p.pos)/4 {
		fail(p.pos-4, "substitution count %d exceeds the record", count)
	}
	// Values live only while the record is decoded: take them from the
	// chunk's arena instead of allocating per record.
	start := len(p.c.vals)
	p.c.vals = append(p.c.vals, make([]value, count)...)
	vals := p.c.vals[start : start+count : start+count]
	desc := p.pos
	p.pos += 4 * count
	for i := range vals {
		d := p.b[desc+4*i:]
		vals[i] = value{typ: d[2], n: int(le16(d))}
	}
	for i := range vals {
		p.need(vals[i].n)
		vals[i].off = p.pos
		p.pos += vals[i].n
	}
	return vals
}

// parseTemplate parses a template definition header and its fragment.
func parseTemplate(c *chunkState, off, depth int) *template {
	p := &parser{c: c, ar: &c.tmplArena, b: c.buf, pos: off, end: len(c.buf), depth: depth}
	p.need(24)
	size := int(le32(c.buf[off+20:]))
	p.pos += 24
	p.need(size)
	p.end = p.pos + size
	t := c.tmplS.one(template{root: p.fragment()})
	t.locate()
	return t
}

// locate finds Event/System/Provider and EventID in the template.
func (t *template) locate() {
	ev := firstElem(t.root, "Event")
	if ev == nil {
		return
	}
	sys := firstElem(ev.content, "System")
	if sys == nil {
		return
	}
	if pr := firstElem(sys.content, "Provider"); pr != nil {
		for _, a := range pr.attrs {
			switch a.name {
			case "Name":
				t.provider = a.val
			case "EventSourceName":
				t.source = a.val
			}
		}
	}
	if id := firstElem(sys.content, "EventID"); id != nil {
		t.eventID = id.content
	}
}

func firstElem(items []item, name string) *tnode {
	for _, it := range items {
		if it.kind == itElem && it.elem.name == name {
			return it.elem
		}
	}
	return nil
}
