package evtx

import (
	"strings"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// builder turns parsed BinXml items plus substitution values into a Node
// tree.
type builder struct {
	c      *chunkState
	depth  int
	budget int  // work left for this record; see maxRecordWork
	start  int  // budget at the start of the record
	reuse  bool // nodes come from c.nodes and are recycled next record
	used   int  // nodes taken from c.nodes
}

// node returns an empty element: recycled from the chunk's slab when the
// tree will not outlive the record, freshly allocated otherwise.
func (bd *builder) node(name string) *Node {
	if !bd.reuse {
		return &Node{Name: name}
	}
	if bd.used == len(bd.c.nodes) {
		if bd.used < 4096 {
			bd.c.nodes = append(bd.c.nodes, Node{})
			bd.c.nodes = bd.c.nodes[:cap(bd.c.nodes)]
		} else {
			return &Node{Name: name}
		}
	}
	n := &bd.c.nodes[bd.used]
	bd.used++
	n.Name, n.Text = name, ""
	n.Children, n.Attrs = n.Children[:0], n.Attrs[:0]
	return n
}

// maxRecordWork bounds the elements, substitutions and nested BinXml bytes
// one record may expand to. Templates can nest template instances, so a
// hostile record could otherwise expand exponentially; real records use a
// few hundred units.
//
// maxChunkWork bounds all records of one chunk together: records of a few
// bytes each naming a template that doubles at every level each expanded
// to just under maxRecordWork, so 68 KB of them took 2.1 GB and 1 MB took
// 181 s. The busiest chunk of the test corpus spends about 1/8 of it (see
// TestChunkWorkOfRealLogs). An element costs 8 units and about 100 bytes
// of tree, so a chunk's events hold at most about 12 MB.
const (
	maxRecordWork = 1 << 18
	maxChunkWork  = 1 << 20
)

// newBuilder returns the chunk's builder, reset for a new record, with the
// record's budget or what is left of the chunk's, whichever is less.
func (c *chunkState) newBuilder() *builder {
	c.bd = builder{c: c, budget: min(maxRecordWork, maxChunkWork-c.work)}
	c.bd.start = c.bd.budget
	return &c.bd
}

// spent is the work the current record has used so far.
func (bd *builder) spent() int { return bd.start - bd.budget }

func (bd *builder) spend(n, off int) {
	bd.budget -= n
	if bd.budget < 0 {
		if bd.start < maxRecordWork {
			fail(off, "the chunk's records expand beyond %d units of work together (a template expansion bomb?); the rest of the chunk is not built", maxChunkWork)
		}
		fail(off, "record expands beyond %d units of work", maxRecordWork)
	}
}

// addText appends to an element's text; appending copies the text so far,
// which is charged to the budget (1 unit per KiB) to keep it linear.
func (bd *builder) addText(n *Node, s string) {
	if n.Text == "" {
		n.Text = s
		return
	}
	bd.spend(len(n.Text)>>10, 0)
	n.Text += s
}

func (bd *builder) enter(off int) {
	bd.depth++
	if bd.depth > maxDepth {
		fail(off, "BinXml substitutions nested deeper than %d", maxDepth)
	}
}

// content appends items to parent, substituting vals.
func (bd *builder) content(parent *Node, items []item, vals []value) {
	bd.spend(len(items), 0)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itElem:
			bd.element(parent, it.elem, vals)
		case itText:
			bd.addText(parent, it.text)
		case itPI:
			// A processing instruction is kept as a child named "?target"
			// so XML() renders it and payload readers skip it.
			target, data, _ := strings.Cut(it.text, " ")
			pi := bd.node("?" + target)
			pi.Text = data
			parent.Children = append(parent.Children, pi)
		case itInst:
			bd.enter(0)
			bd.content(parent, it.inst.t.root, it.inst.vals)
			bd.depth--
		case itSub:
			bd.substitute(parent, it, vals)
		}
	}
}

func (bd *builder) substitute(parent *Node, it *item, vals []value) {
	if it.sub >= len(vals) {
		return // a missing optional value renders as nothing
	}
	v := vals[it.sub]
	switch {
	case v.typ == format.TypeBinXml:
		bd.spend(v.n, v.off)
		bd.enter(v.off)
		p := &parser{c: bd.c, ar: &bd.c.recArena, b: bd.c.buf, pos: v.off, end: v.off + v.n, depth: bd.depth}
		bd.content(parent, p.fragment(), nil)
		bd.depth--
	case v.typ&format.TypeArray != 0:
		bd.spend(v.n, v.off)
		bd.addText(parent, strings.Join(renderArray(v.typ, bd.c.buf[v.off:v.off+v.n]), ","))
	default:
		bd.spend(v.n, v.off)
		bd.addText(parent, bd.render(v))
	}
}

func (bd *builder) element(parent *Node, t *tnode, vals []value) {
	// An element whose only content is an array substitution repeats once
	// per array element, as Windows renders EventData/Data arrays.
	if len(t.content) == 1 && t.content[0].kind == itSub {
		if s := t.content[0].sub; s < len(vals) && vals[s].typ&format.TypeArray != 0 && vals[s].typ != format.TypeArray {
			v := vals[s]
			bd.spend(v.n, v.off)
			for _, text := range renderArray(v.typ, bd.c.buf[v.off:v.off+v.n]) {
				n := bd.node(t.name)
				n.Attrs = bd.attrs(n.Attrs, t.attrs, vals)
				n.Text = text
				parent.Children = append(parent.Children, n)
			}
			return
		}
	}
	bd.spend(8, 0) // an element costs an allocation or three
	n := bd.node(t.name)
	n.Attrs = bd.attrs(n.Attrs, t.attrs, vals)
	bd.enter(0)
	bd.content(n, t.content, vals)
	bd.depth--
	parent.Children = append(parent.Children, n)
}

// attrs renders attribute values into out; an attribute made only of an
// optional substitution that is empty is omitted, as Windows does.
func (bd *builder) attrs(out []Attr, ta []tattr, vals []value) []Attr {
	for _, a := range ta {
		if len(a.val) == 1 && a.val[0].kind == itSub && a.val[0].opt && isEmpty(a.val[0].sub, vals) {
			continue
		}
		out = append(out, Attr{Name: a.name, Value: bd.text(a.val, vals)})
	}
	return out
}

// subText renders one scalar substitution without building a node.
func (bd *builder) subText(sub int, vals []value) string {
	if sub >= len(vals) {
		return ""
	}
	v := vals[sub]
	if v.typ == format.TypeBinXml || v.typ&format.TypeArray != 0 {
		tmp := &Node{}
		bd.substitute(tmp, &item{kind: itSub, sub: sub}, vals)
		if len(tmp.Children) > 0 {
			return nodeText(tmp)
		}
		return tmp.Text
	}
	bd.spend(v.n, v.off)
	return bd.render(v)
}

func (bd *builder) render(v value) string {
	if v.typ == format.TypeString {
		return bd.c.utf16(bd.c.buf[v.off : v.off+v.n])
	}
	return renderValue(v.typ, bd.c.buf[v.off:v.off+v.n])
}

func isEmpty(sub int, vals []value) bool {
	return sub >= len(vals) || vals[sub].typ == format.TypeNull || vals[sub].n == 0
}

// text renders items as plain text (attribute values, filter peeks).
func (bd *builder) text(items []item, vals []value) string {
	if len(items) == 1 && items[0].kind == itText {
		return items[0].text
	}
	if len(items) == 1 && items[0].kind == itSub {
		return bd.subText(items[0].sub, vals)
	}
	tmp := &Node{}
	bd.content(tmp, items, vals)
	if len(tmp.Children) > 0 {
		return nodeText(tmp)
	}
	return tmp.Text
}
