package evtx

import (
	"bytes"
	"errors"
	"time"
	"unicode"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// Render selects what Options.Output receives instead of events.
type Render int

const (
	// RenderNone delivers *Event values to the callback (the default).
	RenderNone Render = iota
	// RenderJSONL writes each record as AppendJSON does.
	RenderJSONL
	// RenderXML writes each record as Event.AppendXML does, one per line.
	RenderXML
)

// maxRecordOutput bounds what one record may render to. Work budgets bound
// elements and values, but a template's literal text costs one unit however
// long it is, and the parallel window holds rendered chunks.
const maxRecordOutput = 16 << 20

// errBail abandons the direct rendering of a record whose shape the tree
// path renders differently from a straight walk (text after a child
// element, processing instructions, markup in attribute values, a second
// top-level element): that record is rendered from its tree instead.
var errBail = errors.New("record needs the tree path")

func bail() { panic(errBail) }

// errTooBig stops a record whose lines pass maxRecordOutput while it is
// rendered, before they fill memory.
var errTooBig = errors.New("record renders too large")

func (r *renderer) checkSize() {
	if len(r.out)-r.line > maxRecordOutput || len(r.scratch)+len(r.inner) > maxRecordOutput {
		panic(errTooBig)
	}
}

// Roles of the open elements while rendering JSON: which field of the line
// an element's attributes and text feed, as EventFromTree reads a tree.
const (
	roleIgnore = iota
	roleRoot
	roleEvent
	roleSystem
	roleEventData
	roleUserData
	roleUDElem // UserData/<Element>
	roleValue  // EventData/Data or UserData/<Element>/<child>: one payload value
	roleInner  // markup inside a value, written as XML into the value
	roleSysField
)

// System fields the JSON line carries (the others are read and dropped).
const (
	fOther = iota
	fProvider
	fEventID
	fLevel
	fTime
	fRecordID
	fChannel
	fComputer
	fSecurity
)

// span is a range of renderer.scratch.
type span struct{ lo, hi int32 }

func spanOf(lo, hi int) span { return span{int32(lo), int32(hi)} }

// frame is one open element. It is kept small: one is pushed per element
// of every record.
type frame struct {
	name     string
	nameOK   bool // name is an XML name as it is
	role     uint8
	field    uint8
	seen     uint8
	tagOpen  bool // XML: "<name attrs" written, its '>' not yet
	hadChild bool
	exact    bool  // textLen is exact, not a bound (text not rendered)
	hasKey   bool  //
	textLen  int   // direct text so far (the tree's Node.Text length)
	text     int32 // JSON: where the element's direct text starts in scratch
	inner    int32 // roleValue: where its markup starts in inner
	key      span
	attrA    span // JSON: Provider/@Name, EventID/@Qualifiers, TimeCreated/@SystemTime, Security/@UserID
	attrB    span // Provider/@EventSourceName
	attrC    span // Provider/@Guid
}

// renderer writes records straight from their parsed BinXml and
// substitution values. It reproduces, byte for byte, what the tree path
// (builder, EventFromTree, AppendJSON / AppendXML) writes, spending the
// same work budget in the same order; any record it cannot render that way
// is bailed out and left to the tree path.
type renderer struct {
	c    *chunkState
	bd   *builder
	mode Render
	out  []byte // the chunk's output
	line int    // where the current record's output starts

	stack   []frame
	scratch []byte // JSON: texts and values of the record
	inner   []byte // JSON: markup inside values, as XML
	val     []byte // one rendered substitution
	arr     []byte // one array element
	params  []span
	data    []kvSpan

	// Plans (plan.go): compiled templates by planKey, kept across chunks.
	plans map[string]*jplan
	key   []byte
	runs  []planned
	pvals []span
	pdata []pdatum
	// arrCost is what arrays add to a plan's work (planArray).
	arrCost int
	// noPlan turns plans off (tests compare both ways).
	noPlan bool
	// planned counts the records rendered by a plan.
	planned int

	// System fields, as spans of scratch, in the order EventFromTree sets them.
	provider, guid, channel, computer, sid span
	eventID, qualifiers, level, recordID   span
	timeText                               span
}

type kvSpan struct{ k, v span }

func (r *renderer) str(s span) []byte { return r.scratch[s.lo:s.hi] }

// record renders the record at off. ok is false (with out unchanged) when
// it must take the tree path or failed (the tree path then reports it);
// big when its lines would pass maxRecordOutput (out unchanged too).
func (r *renderer) record(off, size int) (ok, big bool) {
	c := r.c
	r.line = len(r.out)
	defer func() {
		if e := recover(); e != nil {
			r.out = r.out[:r.line]
			ok, big = false, e == errTooBig
		}
	}()
	c.vals = c.vals[:0]
	c.recArena.reset()
	c.bd.start, c.bd.budget = 0, 0
	p := parser{c: c, ar: &c.recArena, b: c.buf, pos: off + format.RecordHeaderSize, end: off + size - 4}
	items := p.fragment()
	r.bd = c.newBuilder()
	if !r.noPlan && len(items) == 1 && items[0].kind == itInst && r.planRecord(off, items[0].inst) {
		r.planned++
		return true, false
	}
	r.stack = append(r.stack[:0], frame{role: roleRoot, exact: true})
	r.scratch, r.inner = r.scratch[:0], r.inner[:0]
	r.params, r.data = r.params[:0], r.data[:0]
	r.provider, r.guid, r.channel, r.computer, r.sid = span{}, span{}, span{}, span{}, span{}
	r.eventID, r.qualifiers, r.level, r.recordID, r.timeText = span{}, span{}, span{}, span{}, span{}
	r.content(items, nil)
	if !r.stack[0].hadChild {
		return false, false // no element: the tree path reports it
	}
	if r.mode == RenderJSONL {
		r.writeJSON(off)
	} else {
		r.out = append(r.out, '\n')
	}
	if len(r.out)-r.line > maxRecordOutput {
		r.out = r.out[:r.line]
		return false, true
	}
	return true, false
}

func (r *renderer) top() *frame { return &r.stack[len(r.stack)-1] }

// content mirrors builder.content.
func (r *renderer) content(items []item, vals []value) {
	r.bd.spend(len(items), 0)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itElem:
			r.element(it.elem, vals)
		case itText:
			addText(r, it.text)
		case itPI:
			bail()
		case itInst:
			r.bd.enter(0)
			r.content(it.inst.t.root, it.inst.vals)
			r.bd.depth--
		case itSub:
			r.substitute(it, vals)
		}
	}
}

// substitute mirrors builder.substitute.
func (r *renderer) substitute(it *item, vals []value) {
	if it.sub >= len(vals) {
		return
	}
	v := vals[it.sub]
	bd := r.bd
	switch {
	case v.typ == format.TypeBinXml:
		bd.spend(v.n, v.off)
		bd.enter(v.off)
		p := &parser{c: bd.c, ar: &bd.c.recArena, b: bd.c.buf, pos: v.off, end: v.off + v.n, depth: bd.depth}
		r.content(p.fragment(), nil)
		bd.depth--
	case r.mode == RenderJSONL && !r.keepsText(r.top()):
		// Text no field of the line reads: counted, not rendered.
		bd.spend(v.n, v.off)
		f := r.top()
		if f.textLen >= 1<<10 && !f.exact {
			bail() // addText's charge would need the exact length
		}
		bd.spendAppend(f.textLen)
		f.textLen += 3*v.n + 64 // at least what it renders to
		f.exact = false
	case v.typ&format.TypeArray != 0:
		bd.spend(v.n, v.off)
		r.val = appendArrayJoined(r.val[:0], v.typ, bd.c.buf[v.off:v.off+v.n])
		addText(r, r.val)
	default:
		bd.spend(v.n, v.off)
		r.val = r.appendValue(r.val[:0], v)
		addText(r, r.val)
	}
}

// element mirrors builder.element.
func (r *renderer) element(t *tnode, vals []value) {
	if r.mode == RenderJSONL && r.ignored(t) {
		r.top().hadChild = true
		r.skipElement(t, vals)
		return
	}
	if len(t.content) == 1 && t.content[0].kind == itSub {
		if s := t.content[0].sub; s < len(vals) && vals[s].typ&format.TypeArray != 0 && vals[s].typ != format.TypeArray {
			v := vals[s]
			r.bd.spend(v.n, v.off)
			eachArray(&r.arr, v.typ, r.c.buf[v.off:v.off+v.n], func(text []byte) {
				r.open(t, vals)
				addText(r, text)
				r.close()
			})
			return
		}
	}
	r.bd.spend(8, 0)
	r.open(t, vals)
	r.bd.enter(0)
	r.content(t.content, vals)
	r.bd.depth--
	r.close()
}

// ignored reports whether nothing of element t, under the current
// element, reaches the JSON line (System/Version, RenderingInfo,
// EventData/Binary…): then only its work is counted (skipElement).
func (r *renderer) ignored(t *tnode) bool {
	parent := r.top()
	if parent.role == roleRoot {
		return false
	}
	switch r.childRole(parent, t.local) {
	case roleIgnore:
		return true
	case roleSysField:
		return sysField(t.local) == fOther
	}
	return false
}

// textBound is the length of an element's direct text while it is not
// rendered: exact until a value's rendered length was only bounded.
type textBound struct {
	n     int
	exact bool
}

// add is addText's charge for appending n bytes (or at most n).
func (tl *textBound) add(bd *builder, n int, exact bool) {
	if tl.n >= 1<<10 && !tl.exact {
		bail() // the charge would need the exact length
	}
	bd.spendAppend(tl.n)
	tl.n += n
	tl.exact = tl.exact && exact
}

// skipElement spends what builder.element spends on t, rendering nothing.
func (r *renderer) skipElement(t *tnode, vals []value) {
	bd := r.bd
	if len(t.content) == 1 && t.content[0].kind == itSub {
		if s := t.content[0].sub; s < len(vals) && vals[s].typ&format.TypeArray != 0 && vals[s].typ != format.TypeArray {
			v := vals[s]
			bd.spend(v.n, v.off)
			eachArray(&r.arr, v.typ, r.c.buf[v.off:v.off+v.n], func([]byte) { r.skipAttrs(t, vals) })
			return
		}
	}
	bd.spend(8, 0)
	r.skipAttrs(t, vals)
	bd.enter(0)
	tl := textBound{exact: true}
	r.skipContent(t.content, vals, &tl)
	bd.depth--
}

func (r *renderer) skipAttrs(t *tnode, vals []value) {
	for i := range t.attrs {
		if a := &t.attrs[i]; !skipAttr(a, vals) {
			r.attrWork(a.val, vals)
		}
	}
}

// skipContent spends what builder.content spends on items.
func (r *renderer) skipContent(items []item, vals []value, tl *textBound) {
	bd := r.bd
	bd.spend(len(items), 0)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itElem:
			r.skipElement(it.elem, vals)
		case itText:
			tl.add(bd, len(it.text), true)
		case itInst:
			bd.enter(0)
			r.skipContent(it.inst.t.root, it.inst.vals, tl)
			bd.depth--
		case itSub:
			if it.sub >= len(vals) {
				continue
			}
			v := vals[it.sub]
			bd.spend(v.n, v.off)
			if v.typ == format.TypeBinXml {
				bd.enter(v.off)
				p := &parser{c: bd.c, ar: &bd.c.recArena, b: bd.c.buf, pos: v.off, end: v.off + v.n, depth: bd.depth}
				r.skipContent(p.fragment(), nil, tl)
				bd.depth--
				continue
			}
			tl.add(bd, 3*v.n+64, false) // at least what it renders to
		}
	}
}

// open starts an element under the current one and renders its attributes.
func (r *renderer) open(t *tnode, vals []value) {
	parent := r.top()
	var ln string
	if parent.role == roleRoot || r.mode == RenderJSONL && parent.role < roleValue {
		ln = t.local
	}
	if parent.role == roleRoot && (parent.hadChild || ln != "Event") {
		bail() // the tree path renders only the first top-level element, and only an Event
	}
	if len(t.name) > 0 && t.name[0] == '?' {
		bail() // the tree takes a node named "?target" for a processing instruction
	}
	if r.mode == RenderXML || parent.role == roleValue || parent.role == roleInner {
		r.closeTag(parent)
	}
	parent.hadChild = true
	role := r.childRole(parent, ln)
	r.stack = append(r.stack, frame{name: t.name, nameOK: t.xmlOK, role: uint8(role), exact: true, text: int32(len(r.scratch)), inner: int32(len(r.inner))})
	fp := r.top()
	if role == roleSysField {
		fp.field = uint8(sysField(ln))
	}
	if r.xmlOut(fp) {
		r.startTag(fp, t, vals)
		return
	}
	r.attrs(fp, t, vals)
}

// keepsText reports whether f's text is part of the JSON line.
func (r *renderer) keepsText(f *frame) bool {
	switch f.role {
	case roleValue, roleInner:
		return true
	case roleSysField:
		switch f.field {
		case fEventID, fLevel, fRecordID, fChannel, fComputer:
			return true
		}
	}
	return false
}

// xmlOut reports whether f is written as XML: every element in XML mode,
// markup inside a payload value in JSON mode.
func (r *renderer) xmlOut(f *frame) bool { return r.mode == RenderXML || f.role == roleInner }

// childRole is the role of a child named (local part) ln under parent.
func (r *renderer) childRole(parent *frame, ln string) int {
	if r.mode == RenderXML {
		return roleIgnore
	}
	switch parent.role {
	case roleRoot:
		return roleEvent
	case roleEvent:
		switch ln {
		case "System":
			return roleSystem
		case "EventData":
			return roleEventData
		case "UserData":
			return roleUserData
		}
	case roleSystem:
		return roleSysField
	case roleEventData:
		if ln == "Data" {
			return roleValue
		}
	case roleUserData:
		return roleUDElem
	case roleUDElem:
		return roleValue
	case roleValue, roleInner:
		return roleInner
	}
	return roleIgnore
}

func sysField(name string) int {
	switch name {
	case "Provider":
		return fProvider
	case "EventID":
		return fEventID
	case "Level":
		return fLevel
	case "TimeCreated":
		return fTime
	case "EventRecordID":
		return fRecordID
	case "Channel":
		return fChannel
	case "Computer":
		return fComputer
	case "Security":
		return fSecurity
	}
	return fOther
}

// skipAttr is builder.attrs' rule: an attribute made only of an empty
// optional substitution is omitted.
func skipAttr(a *tattr, vals []value) bool {
	return len(a.val) == 1 && a.val[0].kind == itSub && a.val[0].opt && isEmpty(a.val[0].sub, vals)
}

// appendNameOK is appendName with the name's validity known already.
func appendNameOK(b []byte, name string, ok, strict bool) []byte {
	if ok || !strict {
		return append(b, name...)
	}
	return appendSafeName(b, name)
}

// startTag writes "<name attr='…'…" (XML).
func (r *renderer) startTag(f *frame, t *tnode, vals []value) {
	strict := r.mode == RenderXML
	r.checkSize()
	out := r.outBuf(f)
	*out = append(*out, '<')
	*out = appendNameOK(*out, t.name, t.xmlOK, strict)
	for i := range t.attrs {
		a := &t.attrs[i]
		if skipAttr(a, vals) {
			continue
		}
		r.val = r.attrValue(r.val[:0], a.val, vals)
		if strict && r.repeated(t.attrs[:i], a.name, vals) {
			continue
		}
		out = r.outBuf(f)
		*out = append(*out, ' ')
		*out = appendNameOK(*out, a.name, a.xmlOK, strict)
		*out = append(*out, "='"...)
		*out = appendEscaped(*out, r.val, true, strict)
		*out = append(*out, '\'')
	}
	f.tagOpen = true
}

// repeated reports whether an attribute written before (not omitted) has
// the same name, which the strict writer drops.
func (r *renderer) repeated(before []tattr, name string, vals []value) bool {
	for i := range before {
		if !skipAttr(&before[i], vals) && (before[i].name == name || sameName(before[i].name, name)) {
			return true
		}
	}
	return false
}

func (r *renderer) outBuf(f *frame) *[]byte {
	if r.mode == RenderXML {
		return &r.out
	}
	return &r.inner
}

// attrs renders the attributes a JSON field needs (the first of each
// name, as Node.Attr finds them); the others are rendered for their work
// and dropped.
func (r *renderer) attrs(f *frame, t *tnode, vals []value) {
	for i := range t.attrs {
		a := &t.attrs[i]
		if skipAttr(a, vals) {
			continue
		}
		var bit uint8
		var dst *span
		if f.role != roleValue && f.role != roleSysField {
			r.attrWork(a.val, vals)
			continue
		}
		switch ln := a.local; {
		case f.role == roleValue && ln == "Name":
			bit, dst = 1, &f.key
		case f.role != roleSysField:
		case f.field == fProvider && ln == "Name", f.field == fEventID && ln == "Qualifiers",
			f.field == fTime && ln == "SystemTime", f.field == fSecurity && ln == "UserID":
			bit, dst = 1, &f.attrA
		case f.field == fProvider && ln == "EventSourceName":
			bit, dst = 2, &f.attrB
		case f.field == fProvider && ln == "Guid":
			bit, dst = 4, &f.attrC
		}
		if dst == nil || f.seen&bit != 0 {
			// Not a field of the line: only its work is counted.
			r.attrWork(a.val, vals)
			continue
		}
		lo := len(r.scratch)
		r.scratch = r.attrValue(r.scratch, a.val, vals)
		f.seen |= bit
		*dst = spanOf(lo, len(r.scratch))
		if dst == &f.key {
			f.hasKey = dst.hi > dst.lo
		}
	}
	f.text = int32(len(r.scratch))
}

// attrWork spends what rendering an attribute value would, without
// rendering it where that is known from the value alone.
func (r *renderer) attrWork(items []item, vals []value) {
	switch {
	case len(items) == 1 && items[0].kind == itText:
		return
	case len(items) == 1 && items[0].kind == itSub:
		if sub := items[0].sub; sub < len(vals) {
			if vals[sub].typ == format.TypeBinXml {
				bail()
			}
			r.bd.spend(vals[sub].n, vals[sub].off)
		}
		return
	}
	lo := len(r.scratch)
	r.scratch = r.attrValue(r.scratch, items, vals)
	r.scratch = r.scratch[:lo]
}

// attrValue mirrors builder.text for an attribute's value.
func (r *renderer) attrValue(dst []byte, items []item, vals []value) []byte {
	if len(items) == 1 && items[0].kind == itText {
		return append(dst, items[0].text...)
	}
	if len(items) == 1 && items[0].kind == itSub {
		return r.scalar(dst, items[0].sub, vals)
	}
	r.bd.spend(len(items), 0)
	start := len(dst)
	for i := range items {
		it := &items[i]
		switch it.kind {
		case itText:
			r.bd.spendAppend(len(dst) - start)
			dst = append(dst, it.text...)
			continue
		case itSub:
			if it.sub >= len(vals) {
				continue
			}
			v := vals[it.sub]
			if v.typ == format.TypeBinXml {
				bail()
			}
			r.bd.spend(v.n, v.off)
			mark := len(dst)
			if v.typ&format.TypeArray != 0 {
				dst = appendArrayJoined(dst, v.typ, r.c.buf[v.off:v.off+v.n])
			} else {
				dst = r.appendValue(dst, v)
			}
			r.bd.spendAppend(mark - start)
		default:
			bail()
		}
	}
	return dst
}

// spendAppend is addText's charge for appending to text of length n.
func (bd *builder) spendAppend(n int) {
	if n > 0 {
		bd.spend(n>>10, 0)
	}
}

// scalar mirrors builder.subText.
func (r *renderer) scalar(dst []byte, sub int, vals []value) []byte {
	if sub >= len(vals) {
		return dst
	}
	v := vals[sub]
	switch {
	case v.typ == format.TypeBinXml:
		bail()
	case v.typ&format.TypeArray != 0:
		r.bd.spend(v.n, v.off)
		return appendArrayJoined(dst, v.typ, r.c.buf[v.off:v.off+v.n])
	}
	r.bd.spend(v.n, v.off)
	return r.appendValue(dst, v)
}

// text adds character data to the current element (builder.addText).
func addText[S []byte | string](r *renderer, s S) {
	f := r.top()
	if f.textLen >= 1<<10 && !f.exact {
		bail()
	}
	r.bd.spendAppend(f.textLen)
	f.textLen += len(s)
	if len(s) == 0 || f.role == roleRoot {
		return // the tree keeps the root's text but renders only its Event
	}
	r.checkSize()
	if r.xmlOut(f) {
		if f.hadChild {
			bail() // the tree writes all text before the children
		}
		r.closeTag(f)
		out := r.outBuf(f)
		*out = appendEscaped(*out, s, false, r.mode == RenderXML)
		return
	}
	switch f.role {
	case roleSysField, roleValue:
		if f.role == roleValue && f.hadChild {
			bail()
		}
		r.scratch = append(r.scratch, s...)
	}
}

// closeTag ends a start tag with '>' once the element has content.
func (r *renderer) closeTag(f *frame) {
	if f.tagOpen {
		out := r.outBuf(f)
		*out = append(*out, '>')
		f.tagOpen = false
	}
}

// close ends the current element: in XML, its end tag; in JSON, the field
// or value it carries.
func (r *renderer) close() {
	f := r.top()
	if r.xmlOut(f) {
		out := r.outBuf(f)
		if f.tagOpen {
			*out = append(*out, "/>"...)
		} else {
			*out = append(*out, "</"...)
			*out = appendNameOK(*out, f.name, f.nameOK, r.mode == RenderXML)
			*out = append(*out, '>')
		}
	}
	switch f.role {
	case roleSysField:
		r.setField(f)
	case roleValue:
		r.setValue(f)
	}
	r.stack = r.stack[:len(r.stack)-1]
}

func (r *renderer) setField(f *frame) {
	t := spanOf(int(f.text), len(r.scratch))
	switch f.field {
	case fProvider:
		r.provider = f.attrA
		if f.attrA.hi == f.attrA.lo {
			r.provider = f.attrB
		}
		r.guid = f.attrC
	case fEventID:
		r.eventID, r.qualifiers = t, f.attrA
	case fLevel:
		r.level = t
	case fTime:
		r.timeText = f.attrA
	case fRecordID:
		r.recordID = t
	case fChannel:
		r.channel = r.trim(t)
	case fComputer:
		r.computer = r.trim(t)
	case fSecurity:
		r.sid = f.attrA
	}
}

func (r *renderer) trim(s span) span {
	b := r.scratch[s.lo:s.hi]
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return span{}
	}
	lo := int(s.lo) + len(b) - len(bytes.TrimLeftFunc(b, unicode.IsSpace))
	return spanOf(lo, lo+len(t))
}

// setValue stores a payload value as nodeText computes it: the direct text,
// or, when the value holds markup, the escaped text followed by the markup.
func (r *renderer) setValue(f *frame) {
	v := spanOf(int(f.text), len(r.scratch))
	if f.hadChild {
		lo := len(r.scratch)
		r.scratch = appendEscaped(r.scratch, r.scratch[v.lo:v.hi], false, false)
		r.scratch = append(r.scratch, r.inner[f.inner:]...)
		r.inner = r.inner[:f.inner]
		v = spanOf(int(lo), len(r.scratch))
	}
	r.params = append(r.params, v)
	parent := &r.stack[len(r.stack)-2]
	switch parent.role {
	case roleEventData:
		if f.hasKey {
			r.data = append(r.data, kvSpan{f.key, v})
		}
	case roleUDElem:
		ln := localName(f.name)
		lo := len(r.scratch)
		r.scratch = append(r.scratch, ln...)
		r.data = append(r.data, kvSpan{spanOf(int(lo), len(r.scratch)), v})
	}
}

// writeJSON writes the line as AppendJSON writes the Event EventFromTree
// and decodeRecord would have built.
func (r *renderer) writeJSON(off int) {
	c := r.c
	recordID := parseUintBytes(bytes.TrimSpace(r.str(r.recordID)), 64)
	if recordID == 0 {
		recordID = le64(c.buf[off+format.RecordID:])
	}
	t := parseSystemTimeBytes(r.str(r.timeText))
	if t.Year() <= 1601 {
		t = fileTime(le64(c.buf[off+format.RecordWriteTime:]))
	}
	out := appendJSONHead(r.out, r.str(r.provider), r.str(r.guid),
		uint16(parseUintBytes(bytes.TrimSpace(r.str(r.eventID)), 16)),
		uint16(parseUintBytes(bytes.TrimSpace(r.str(r.qualifiers)), 16)),
		uint8(parseUintBytes(bytes.TrimSpace(r.str(r.level)), 8)), t, recordID,
		r.str(r.channel), r.str(r.computer), r.str(r.sid))
	r.sortData()
	first := true
	for i, kv := range r.data {
		if i+1 < len(r.data) && bytes.Equal(r.str(kv.k), r.str(r.data[i+1].k)) {
			continue // a later value of the same name replaces it, as in the map
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendJSONString(out, r.str(kv.k))
		out = append(out, ':')
		out = appendJSONString(out, r.str(kv.v))
	}
	out = append(out, `},"params":[`...)
	for i, p := range r.params {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, r.str(p))
	}
	r.out = append(out, "]}\n"...)
}

// sortData sorts data by key, stably (equal keys stay in document order).
func (r *renderer) sortData() {
	d := r.data
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && bytes.Compare(r.str(d[j].k), r.str(d[j-1].k)) < 0; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// appendValue mirrors builder.render.
func (r *renderer) appendValue(dst []byte, v value) []byte {
	b := r.c.buf[v.off : v.off+v.n]
	if v.typ == format.TypeString || v.typ == format.TypeEvtXml {
		return appendUTF16(dst, b)
	}
	return appendRenderedValue(dst, v.typ, b)
}

// parseUintBytes is parseUint (already trimmed) without a string.
func parseUintBytes(s []byte, bits int) uint64 {
	if len(s) == 0 {
		return 0
	}
	base := uint64(10)
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, base = s[2:], 16
	}
	var n uint64
	maxVal := uint64(1)<<uint(bits) - 1
	for _, c := range s {
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0
		}
		if n > (maxVal-d)/base {
			return 0 // out of range: strconv's error, read as 0
		}
		n = n*base + d
	}
	return n
}

// parseSystemTimeBytes is parseSystemTime for the form the decoder renders
// (2006-01-02T15:04:05.0000000Z) without allocating; anything else takes
// parseSystemTime.
func parseSystemTimeBytes(b []byte) time.Time {
	b = bytes.TrimSpace(b)
	if len(b) == 28 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[19] == '.' && b[27] == 'Z' {
		num := func(s []byte) int {
			n := 0
			for _, c := range s {
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d := num(b[0:4]), num(b[5:7]), num(b[8:10])
		h, mi, s, frac := num(b[11:13]), num(b[14:16]), num(b[17:19]), num(b[20:27])
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(time.Month(mo), y) && h >= 0 && h < 24 &&
			mi >= 0 && mi < 60 && s >= 0 && s < 60 && frac >= 0 {
			return time.Date(y, time.Month(mo), d, h, mi, s, frac*100, time.UTC)
		}
	}
	return parseSystemTime(string(b))
}

func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
