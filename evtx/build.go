package evtx

import "strings"

// builder turns parsed BinXml items plus substitution values into a Node
// tree.
type builder struct {
	c      *chunkState
	depth  int
	budget int // work left for this record; see maxRecordWork
}

// maxRecordWork bounds the elements, substitutions and nested BinXml bytes
// one record may expand to. Templates can nest template instances, so a
// hostile record could otherwise expand exponentially; real records use a
// few hundred units.
const maxRecordWork = 1 << 18

func newBuilder(c *chunkState) *builder { return &builder{c: c, budget: maxRecordWork} }

func (bd *builder) spend(n, off int) {
	bd.budget -= n
	if bd.budget < 0 {
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
			// Processing instructions carry no event data; keep them
			// visible in the text rather than dropping them silently.
			bd.addText(parent, "<?"+it.text+"?>")
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
	case v.typ == vtBinXml:
		bd.spend(v.n, v.off)
		bd.enter(v.off)
		p := &parser{c: bd.c, b: bd.c.buf, pos: v.off, end: v.off + v.n, depth: bd.depth}
		bd.content(parent, p.fragment(), nil)
		bd.depth--
	case v.typ&vtArray != 0:
		bd.spend(v.n, v.off)
		bd.addText(parent, strings.Join(renderArray(v.typ, bd.c.buf[v.off:v.off+v.n]), ","))
	default:
		bd.spend(v.n, v.off)
		bd.addText(parent, renderValue(v.typ, bd.c.buf[v.off:v.off+v.n]))
	}
}

func (bd *builder) element(parent *Node, t *tnode, vals []value) {
	attrs := bd.attrs(t.attrs, vals)
	// An element whose only content is an array substitution repeats once
	// per array element, as Windows renders EventData/Data arrays.
	if len(t.content) == 1 && t.content[0].kind == itSub {
		if s := t.content[0].sub; s < len(vals) && vals[s].typ&vtArray != 0 && vals[s].typ != vtArray {
			v := vals[s]
			bd.spend(v.n, v.off)
			for _, text := range renderArray(v.typ, bd.c.buf[v.off:v.off+v.n]) {
				parent.Children = append(parent.Children, &Node{Name: t.name, Attrs: attrs, Text: text})
			}
			return
		}
	}
	bd.spend(8, 0) // an element costs an allocation or three
	n := &Node{Name: t.name, Attrs: attrs}
	bd.enter(0)
	bd.content(n, t.content, vals)
	bd.depth--
	parent.Children = append(parent.Children, n)
}

// attrs renders attribute values; an attribute made only of an optional
// substitution that is empty is omitted, as Windows does.
func (bd *builder) attrs(ta []tattr, vals []value) []Attr {
	if len(ta) == 0 {
		return nil
	}
	out := make([]Attr, 0, len(ta))
	for _, a := range ta {
		if len(a.val) == 1 && a.val[0].kind == itSub && a.val[0].opt && isEmpty(a.val[0].sub, vals) {
			continue
		}
		out = append(out, Attr{Name: a.name, Value: bd.text(a.val, vals)})
	}
	return out
}

func isEmpty(sub int, vals []value) bool {
	return sub >= len(vals) || vals[sub].typ == vtNull || vals[sub].n == 0
}

// text renders items as plain text (attribute values, filter peeks).
func (bd *builder) text(items []item, vals []value) string {
	if len(items) == 1 && items[0].kind == itText {
		return items[0].text
	}
	tmp := &Node{}
	bd.content(tmp, items, vals)
	if len(tmp.Children) > 0 {
		return nodeText(tmp)
	}
	return tmp.Text
}
