package evtx

import (
	"bytes"
	"encoding/binary"
	"time"
	"unicode"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// A plan is a template compiled once for the direct renderer: what the
// generic renderer would work out element by element for every record (the
// role of each element, which System field or payload value it feeds, the
// work its static parts cost) is resolved when the template is first seen,
// and a record of that template is rendered by formatting its substitution
// values into the places the plan names.
//
// Plans cover the shapes real logs use: one Event element, System fields
// and payload values made of one literal or one substitution, EventData or
// UserData, and the payload as a nested template instance in a BinXml
// substitution under Event. Any template outside that shape gets no plan,
// and any record whose values the plan cannot take (a BinXml or array value
// where a scalar belongs, a nested fragment without a plan, a work budget
// it would pass) is rendered by the generic renderer instead, so the bytes
// and the work spent stay exactly the generic renderer's.

// Kinds of a plan's value source.
const (
	srcNone = iota // absent: renders as ""
	srcText        // a literal
	srcSub         // substitution sub
)

// src is where a field or value comes from.
type src struct {
	kind uint8
	opt  bool // an attribute made of one optional substitution (omitted when empty)
	sub  int
	text string
}

// ref is a substitution whose bytes the generic renderer spends.
type ref struct {
	sub  int
	opt  bool // an attribute of one optional substitution: nothing spent when empty
	hole bool // directly in Event's content: may hold a nested fragment
	arr  bool // a value element's only content: may be an array
}

// pval is one payload value (an entry of params), or a hole: a substitution
// under Event whose nested template's values go here.
type pval struct {
	hole   bool
	sub    int
	depth  int // builder depth inside the hole's fragment (hole only)
	val    src
	hasKey bool   // EventData/Data with a non-empty Name, or a UserData value
	key    string // the data key
	qkey   []byte // key as a JSON string
	qval   []byte // a literal value as a JSON string
	// An element whose only content is an array substitution repeats once
	// per array element: the attributes are rendered (and spent) again
	// each time, the element's own 8 units and content item are not.
	arr   bool
	attrs []ref
}

// System fields a plan sets, as setField does.
type sysPlan struct {
	provName, provSource, guid          src
	eventID, qualifiers, level, recID   src
	timeAttr, channel, computer, userID src
}

// jplan renders a template as a JSON line (or, nested, the payload values
// of one).
type jplan struct {
	static   int // work units that do not depend on the values
	refs     []ref
	maxDepth int // deepest builder depth, relative to the plan's start
	sys      sysPlan
	vals     []pval // JSON: payload values and holes; XML: holes
	ops      []xop  // XML
}

// planned is a plan with the values of one instance (run time).
type planned struct {
	pl   *jplan
	vals []value
}

// planKey serializes what compiling t reads, so that one plan serves every
// chunk's copy of a template.
func planKey(dst []byte, mode byte, items []item) []byte {
	dst = append(dst, mode)
	return keyItems(dst, items)
}

func keyItems(dst []byte, items []item) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	for i := range items {
		it := &items[i]
		dst = append(dst, byte(it.kind))
		switch it.kind {
		case itElem:
			dst = keyString(dst, it.elem.name)
			dst = binary.AppendUvarint(dst, uint64(len(it.elem.attrs)))
			for j := range it.elem.attrs {
				a := &it.elem.attrs[j]
				dst = keyString(dst, a.name)
				dst = keyItems(dst, a.val)
			}
			dst = keyItems(dst, it.elem.content)
		case itText, itPI:
			dst = keyString(dst, it.text)
		case itSub:
			dst = binary.AppendUvarint(dst, uint64(it.sub))
			if it.opt {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	}
	return dst
}

func keyString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// maxPlans bounds the plans one worker keeps; past it they are dropped and
// compiled again as templates come.
const maxPlans = 1024

// Kinds of plan: for the top of a record or for a fragment under Event,
// JSON or XML; also the key prefix of planKey.
const (
	planJSON = iota
	planJSONNested
	planXML
	planXMLNested
	planKinds
)

// plan returns t's plan of a kind, compiling it on first use; nil when t
// has none.
func (r *renderer) plan(t *template, kind int) *jplan {
	if !t.planDone[kind] {
		t.plans[kind], t.planDone[kind] = r.lookupPlan(t, kind), true
	}
	return t.plans[kind]
}

func (r *renderer) lookupPlan(t *template, kind int) *jplan {
	r.key = planKey(r.key[:0], byte(kind), t.root)
	if pl, ok := r.plans[string(r.key)]; ok {
		return pl
	}
	var pl *jplan
	switch kind {
	case planJSON:
		pl = compileJSON(t.root)
	case planJSONNested:
		pl = compileJSONNested(t.root)
	case planXML:
		pl = compileXML(t.root, false)
	case planXMLNested:
		pl = compileXML(t.root, true)
	}
	if r.plans == nil || len(r.plans) >= maxPlans {
		r.plans = make(map[string]*jplan)
	}
	r.plans[string(r.key)] = pl
	return pl
}

// compiler builds a jplan, mirroring the generic renderer's walk.
type compiler struct {
	pl  *jplan
	bad bool
}

func (cp *compiler) fail() { cp.bad = true }

func (cp *compiler) depth(d int) {
	cp.pl.maxDepth = max(cp.pl.maxDepth, d)
}

// compileJSON compiles a record's template: one Event element.
func compileJSON(root []item) *jplan {
	cp := &compiler{pl: &jplan{}}
	// content(record items) spends 1 for the one instance item, enters it.
	cp.pl.static = 1 + len(root)
	cp.depth(1)
	if len(root) != 1 || root[0].kind != itElem || root[0].elem.local != "Event" {
		return nil
	}
	cp.element(root[0].elem, roleEvent, roleRoot, 1)
	if cp.bad {
		return nil
	}
	return cp.pl
}

// compileJSONNested compiles a template instantiated in a BinXml value
// under Event: elements only (text there would join Event's text).
func compileJSONNested(root []item) *jplan {
	cp := &compiler{pl: &jplan{}}
	cp.pl.static = len(root)
	for i := range root {
		if root[i].kind != itElem || root[i].elem.local == "System" {
			return nil
		}
	}
	for i := range root {
		cp.child(root[i].elem, roleEvent, 0)
	}
	if cp.bad {
		return nil
	}
	return cp.pl
}

// pieces counts the text and substitution items of content: with more than
// one, appending text is charged by length, which the plan does not model.
func pieces(items []item) int {
	n := 0
	for i := range items {
		switch items[i].kind {
		case itText, itSub:
			n++
		case itInst, itPI:
			n += 2
		}
	}
	return n
}

// child compiles element t under a parent of role parent at builder depth d.
func (cp *compiler) child(t *tnode, parent, d int) {
	role := jsonChildRole(parent, t.local)
	if role == roleIgnore || role == roleSysField && sysField(t.local) == fOther {
		cp.skip(t, d)
		return
	}
	cp.element(t, role, parent, d)
}

// jsonChildRole is renderer.childRole in JSON mode.
func jsonChildRole(parent int, ln string) int {
	r := renderer{mode: RenderJSONL}
	return r.childRole(&frame{role: uint8(parent)}, ln)
}

// attrSrc is the source of an attribute's value, its cost counted.
func (cp *compiler) attrSrc(a *tattr) src {
	switch {
	case len(a.val) == 0:
		return src{}
	case len(a.val) == 1 && a.val[0].kind == itText:
		return src{kind: srcText, text: a.val[0].text}
	case len(a.val) == 1 && a.val[0].kind == itSub:
		it := &a.val[0]
		cp.pl.refs = append(cp.pl.refs, ref{sub: it.sub, opt: it.opt})
		return src{kind: srcSub, sub: it.sub, opt: it.opt}
	}
	cp.fail()
	return src{}
}

// distinct reports whether no two attributes share a local name (the
// generic renderer takes the first non-omitted one) or a written name.
func distinct(attrs []tattr) bool {
	for i := range attrs {
		for j := range i {
			a, b := &attrs[i], &attrs[j]
			if a.local == b.local || a.name == b.name || sameName(a.name, b.name) {
				return false
			}
		}
	}
	return true
}

// contentSrc is the source of content made of at most one text or
// substitution (elements aside), counting the items' cost.
func (cp *compiler) contentSrc(items []item) src {
	cp.pl.static += len(items)
	if pieces(items) > 1 {
		cp.fail()
		return src{}
	}
	for i := range items {
		switch it := &items[i]; it.kind {
		case itText:
			return src{kind: srcText, text: it.text}
		case itSub:
			cp.pl.refs = append(cp.pl.refs, ref{sub: it.sub})
			return src{kind: srcSub, sub: it.sub}
		}
	}
	return src{}
}

// skip counts what skipElement spends on an element nothing of which
// reaches the line.
func (cp *compiler) skip(t *tnode, d int) {
	if len(t.name) > 0 && t.name[0] == '?' || !distinct(t.attrs) {
		cp.fail()
		return
	}
	cp.pl.static += 8
	for i := range t.attrs {
		cp.attrSrc(&t.attrs[i])
	}
	cp.depth(d + 1)
	cp.contentSrc(t.content)
	for i := range t.content {
		if it := &t.content[i]; it.kind == itElem {
			cp.skip(it.elem, d+1)
		}
	}
}

// eventContent compiles Event's content: its children and at most one
// substitution, a hole where the payload's nested template goes.
func (cp *compiler) eventContent(items []item, d int) {
	cp.pl.static += len(items)
	if pieces(items) > 1 {
		cp.fail()
		return
	}
	for i := range items {
		switch it := &items[i]; it.kind {
		case itElem:
			cp.child(it.elem, roleEvent, d)
		case itSub:
			cp.pl.refs = append(cp.pl.refs, ref{sub: it.sub, hole: true})
			cp.pl.vals = append(cp.pl.vals, pval{hole: true, sub: it.sub, depth: d})
		}
	}
}

// element compiles an element of role role (under parent) that the
// generic renderer opens, at builder depth d.
func (cp *compiler) element(t *tnode, role, parent, d int) {
	if len(t.name) > 0 && t.name[0] == '?' || !distinct(t.attrs) {
		cp.fail()
		return
	}
	cp.pl.static += 8
	field := fOther
	if role == roleSysField {
		field = sysField(t.local)
	}
	var key, a, b, c src
	ar0 := len(cp.pl.refs)
	for i := range t.attrs {
		at := &t.attrs[i]
		s := cp.attrSrc(at)
		switch ln := at.local; {
		case role == roleValue && ln == "Name":
			key = s
		case role != roleSysField:
		case field == fProvider && ln == "Name", field == fEventID && ln == "Qualifiers",
			field == fTime && ln == "SystemTime", field == fSecurity && ln == "UserID":
			a = s
		case field == fProvider && ln == "EventSourceName":
			b = s
		case field == fProvider && ln == "Guid":
			c = s
		}
	}
	d++
	cp.depth(d)
	switch role {
	case roleEvent:
		cp.eventContent(t.content, d)
	case roleSystem, roleEventData, roleUserData, roleUDElem, roleSysField:
		text := cp.contentSrc(t.content) // read only by System fields
		for i := range t.content {
			if it := &t.content[i]; it.kind == itElem {
				cp.child(it.elem, role, d)
			}
		}
		if role == roleSysField {
			cp.setField(field, text, a, b, c)
		}
	case roleValue:
		for i := range t.content {
			if t.content[i].kind == itElem {
				cp.fail() // markup inside a value
				return
			}
		}
		ar1 := len(cp.pl.refs)
		v := pval{val: cp.contentSrc(t.content)}
		if len(t.content) == 1 && t.content[0].kind == itSub {
			cp.pl.refs[len(cp.pl.refs)-1].arr = true
			v.arr, v.attrs = true, append([]ref(nil), cp.pl.refs[ar0:ar1]...)
		}
		switch {
		case parent == roleUDElem:
			v.key, v.hasKey = localName(t.name), true
		case key.kind == srcSub:
			cp.fail() // the key would have to be sorted at run time
			return
		default:
			v.key, v.hasKey = key.text, key.text != ""
		}
		v.qkey = appendJSONString(nil, v.key)
		if v.val.kind == srcText {
			v.qval = appendJSONString(nil, v.val.text)
		}
		cp.pl.vals = append(cp.pl.vals, v)
	default:
		cp.fail()
	}
}

// setField is renderer.setField: a later element of a field replaces it.
func (cp *compiler) setField(field int, text, a, b, c src) {
	s := &cp.pl.sys
	switch field {
	case fProvider:
		s.provName, s.provSource, s.guid = a, b, c
	case fEventID:
		s.eventID, s.qualifiers = text, a
	case fLevel:
		s.level = text
	case fTime:
		s.timeAttr = a
	case fRecordID:
		s.recID = text
	case fChannel:
		s.channel = text
	case fComputer:
		s.computer = text
	case fSecurity:
		s.userID = a
	}
}

// planRecord renders the record made of instance inst by its plan into
// r.out. It returns false, having written and spent nothing, when the
// generic renderer must render it.
func (r *renderer) planRecord(off int, inst *instance) bool {
	kind := planJSON
	if r.mode == RenderXML {
		kind = planXML
	}
	pl := r.plan(inst.t, kind)
	if pl == nil {
		return false
	}
	r.runs = r.runs[:0]
	cost, ok := r.planCost(pl, kind, inst.vals, 0)
	if !ok || cost > r.bd.budget {
		return false
	}
	r.arrCost = 0
	next := 0
	if kind == planXML {
		if !r.planXML(&next) {
			r.out = r.out[:r.line]
			return false
		}
		r.out = append(r.out, '\n')
	} else {
		r.scratch = r.scratch[:0]
		r.pvals, r.pdata = r.pvals[:0], r.pdata[:0]
		r.planValues(&next)
		r.planLine(off)
	}
	if cost += r.arrCost; cost > r.bd.budget {
		r.out = r.out[:r.line]
		return false
	}
	if len(r.out)-r.line > maxRecordOutput {
		r.out = r.out[:r.line]
		return false
	}
	r.bd.budget -= cost
	return true
}

// planCost is the work the generic renderer would spend on pl's template
// with vals, starting at builder depth base; false when the plan cannot
// render these values. It parses the nested fragments, in document order
// as the generic renderer does, and lists each plan run in r.runs.
func (r *renderer) planCost(pl *jplan, kind int, vals []value, base int) (int, bool) {
	if base+pl.maxDepth > maxDepth {
		return 0, false
	}
	cost := pl.static
	for _, rf := range pl.refs {
		if rf.sub >= len(vals) {
			continue
		}
		v := &vals[rf.sub]
		if rf.opt && (v.typ == format.TypeNull || v.n == 0) {
			continue // the attribute is omitted
		}
		if v.typ&format.TypeArray != 0 && (!rf.arr || v.typ == format.TypeArray) || v.typ == format.TypeBinXml && !rf.hole {
			return 0, false
		}
		cost += v.n
	}
	r.runs = append(r.runs, planned{pl, vals})
	for i := range pl.vals {
		pv := &pl.vals[i]
		if !pv.hole || pv.sub >= len(vals) || vals[pv.sub].typ != format.TypeBinXml {
			continue
		}
		v := vals[pv.sub]
		d := base + pv.depth + 1
		p := parser{c: r.c, ar: &r.c.recArena, b: r.c.buf, pos: v.off, end: v.off + v.n, depth: d}
		items := p.fragment()
		if len(items) != 1 || items[0].kind != itInst {
			return 0, false
		}
		npl := r.plan(items[0].inst.t, kind+1)
		if npl == nil {
			return 0, false
		}
		n, ok := r.planCost(npl, kind, items[0].inst.vals, d+1)
		if !ok {
			return 0, false
		}
		cost += 1 + n
	}
	return cost, true
}

// pdatum is a data entry of the line being rendered.
type pdatum struct {
	key  string
	qkey []byte
	val  span // the value as a JSON string, in scratch
}

// planValues renders the payload values of run *next and of the runs
// nested in it, as JSON strings in scratch, in document order.
func (r *renderer) planValues(next *int) {
	run := r.runs[*next]
	*next++
	for i := range run.pl.vals {
		pv := &run.pl.vals[i]
		if pv.hole {
			if pv.sub < len(run.vals) && run.vals[pv.sub].typ == format.TypeBinXml {
				r.planValues(next)
			}
			continue
		}
		if pv.arr && pv.val.sub < len(run.vals) && run.vals[pv.val.sub].typ&format.TypeArray != 0 {
			r.planArray(pv, run.vals)
			continue
		}
		lo := len(r.scratch)
		switch s := &pv.val; s.kind {
		case srcText:
			r.scratch = append(r.scratch, pv.qval...)
		case srcSub:
			r.scratch = r.appendJSONValue(r.scratch, s.sub, run.vals)
		default:
			r.scratch = append(r.scratch, '"', '"')
		}
		v := spanOf(lo, len(r.scratch))
		r.pvals = append(r.pvals, v)
		if pv.hasKey {
			r.pdata = append(r.pdata, pdatum{pv.key, pv.qkey, v})
		}
	}
}

// planArray renders an array value as the values of the elements it
// repeats (renderer.element), counting the work that differs from one.
func (r *renderer) planArray(pv *pval, vals []value) {
	v := vals[pv.val.sub]
	attrs := 0
	for _, rf := range pv.attrs {
		if rf.sub < len(vals) && !(rf.opt && (vals[rf.sub].typ == format.TypeNull || vals[rf.sub].n == 0)) {
			attrs += vals[rf.sub].n
		}
	}
	k := 0
	eachArray(&r.arr, v.typ, r.c.buf[v.off:v.off+v.n], func(text []byte) {
		k++
		lo := len(r.scratch)
		r.scratch = appendJSONString(r.scratch, text)
		s := spanOf(lo, len(r.scratch))
		r.pvals = append(r.pvals, s)
		if pv.hasKey {
			r.pdata = append(r.pdata, pdatum{pv.key, pv.qkey, s})
		}
	})
	r.arrCost += (k-1)*attrs - 9
}

// appendJSONValue appends value sub as a JSON string.
func (r *renderer) appendJSONValue(dst []byte, sub int, vals []value) []byte {
	if sub >= len(vals) {
		return append(dst, '"', '"')
	}
	v := vals[sub]
	b := r.c.buf[v.off : v.off+v.n]
	if v.typ == format.TypeString || v.typ == format.TypeEvtXml {
		return appendJSONUTF16(dst, b)
	}
	r.val = appendRenderedValue(r.val[:0], v.typ, b)
	return appendJSONString(dst, r.val)
}

// raw appends the text of s (as the generic renderer collects it).
func (r *renderer) raw(dst []byte, s *src, vals []value) []byte {
	switch s.kind {
	case srcText:
		return append(dst, s.text...)
	case srcSub:
		if s.sub < len(vals) {
			return r.appendValue(dst, vals[s.sub])
		}
	}
	return dst
}

// number is parseUintBytes of s's trimmed text, read straight from an
// unsigned value that fits.
func (r *renderer) number(s *src, vals []value, bits int) uint64 {
	if s.kind == srcSub && s.sub < len(vals) {
		v := &vals[s.sub]
		b := r.c.buf[v.off : v.off+v.n]
		switch {
		case v.typ == format.TypeUint8 && v.n == 1:
			return uint64(b[0])
		case v.typ == format.TypeUint16 && v.n == 2 && bits >= 16:
			return uint64(le16(b))
		case v.typ == format.TypeUint32 && v.n == 4 && bits >= 32:
			return uint64(le32(b))
		case v.typ == format.TypeUint64 && v.n == 8 && bits >= 64:
			return le64(b)
		}
	}
	r.val = r.raw(r.val[:0], s, vals)
	return parseUintBytes(bytes.TrimSpace(r.val), bits)
}

// planLine writes the JSON line of the runs rendered by planValues.
func (r *renderer) planLine(off int) {
	c := r.c
	run := &r.runs[0]
	s, vals := &run.pl.sys, run.vals
	recordID := r.number(&s.recID, vals, 64)
	if recordID == 0 {
		recordID = le64(c.buf[off+format.RecordID:])
	}
	t, ok := r.fileTimeOf(&s.timeAttr, vals)
	if !ok {
		r.val = r.raw(r.val[:0], &s.timeAttr, vals)
		t = parseSystemTimeBytes(r.val)
	}
	if t.Year() <= 1601 {
		t = fileTime(le64(c.buf[off+format.RecordWriteTime:]))
	}
	id := uint16(r.number(&s.eventID, vals, 16))
	qual := uint16(r.number(&s.qualifiers, vals, 16))
	level := uint8(r.number(&s.level, vals, 8))
	// The strings, raw, after the values in scratch.
	base := len(r.scratch)
	prov := r.field(&s.provName, vals, false)
	if prov.hi == prov.lo {
		prov = r.field(&s.provSource, vals, false)
	}
	guid := r.field(&s.guid, vals, false)
	channel := r.field(&s.channel, vals, true)
	computer := r.field(&s.computer, vals, true)
	sid := r.field(&s.userID, vals, false)
	out := appendJSONHead(r.out, r.str(prov), r.str(guid), id, qual, level, t, recordID,
		r.str(channel), r.str(computer), r.str(sid))
	r.scratch = r.scratch[:base]
	r.sortPlanData()
	first := true
	for i := range r.pdata {
		kv := &r.pdata[i]
		if i+1 < len(r.pdata) && kv.key == r.pdata[i+1].key {
			continue // a later value of the same name replaces it, as in the map
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, kv.qkey...)
		out = append(out, ':')
		out = append(out, r.str(kv.val)...)
	}
	out = append(out, `},"params":[`...)
	for i, p := range r.pvals {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, r.str(p)...)
	}
	r.out = append(out, "]}\n"...)
}

// field renders s raw into scratch (trimmed: Channel, Computer).
func (r *renderer) field(s *src, vals []value, trim bool) span {
	lo := len(r.scratch)
	r.scratch = r.raw(r.scratch, s, vals)
	if !trim {
		return spanOf(lo, len(r.scratch))
	}
	b := r.scratch[lo:]
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return span{}
	}
	start := lo + len(b) - len(bytes.TrimLeftFunc(b, unicode.IsSpace))
	return spanOf(start, start+len(t))
}

// fileTimeOf reads a TimeCreated/@SystemTime that is a FILETIME value
// whose rendered text parseSystemTimeBytes would read back as the same
// instant.
func (r *renderer) fileTimeOf(s *src, vals []value) (t time.Time, ok bool) {
	if s.kind != srcSub || s.sub >= len(vals) {
		return t, false
	}
	v := &vals[s.sub]
	if v.typ != format.TypeFileTime || v.n != 8 {
		return t, false
	}
	t = fileTime(le64(r.c.buf[v.off:]))
	if y := t.Year(); y < 1 || y > 9999 {
		return t, false
	}
	return t, true
}

// sortPlanData sorts the data entries by key, stably.
func (r *renderer) sortPlanData() {
	d := r.pdata
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j].key < d[j-1].key; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// Kinds of XML op.
const (
	xStatic = iota // write text
	xAttr          // text, then sub escaped and a quote; nothing when optional and empty
	xLeaf          // an element whose only content is sub; its start tag is the next n ops
	xText          // sub escaped (its element's start tag is closed already)
	xLate          // sub after a child element: the plan renders it only when empty
	xHole          // sub under Event after a child: the nested fragment goes here
)

// xop is one step of writing an XML line.
type xop struct {
	kind  uint8
	opt   bool
	sub   int
	n     int
	text  []byte // xStatic: the bytes; xAttr: " name='"; xLeaf: "</name>"
	attrs []ref  // xLeaf: its attributes, spent again for each array element
}

// xcompiler builds the XML plan of a template, in document order.
type xcompiler struct {
	compiler
	lit []byte // static bytes not yet in an op
}

func (cx *xcompiler) flush() {
	if len(cx.lit) > 0 {
		cx.pl.ops = append(cx.pl.ops, xop{kind: xStatic, text: bytes.Clone(cx.lit)})
		cx.lit = cx.lit[:0]
	}
}

func (cx *xcompiler) op(o xop) {
	cx.flush()
	cx.pl.ops = append(cx.pl.ops, o)
}

// compileXML compiles a template for XML lines: a record's (one Event
// element) or, nested, one instantiated under Event (elements only).
func compileXML(root []item, nested bool) *jplan {
	cx := &xcompiler{compiler: compiler{pl: &jplan{}}}
	if nested {
		cx.pl.static = len(root)
		for i := range root {
			if root[i].kind != itElem {
				return nil
			}
			cx.element(root[i].elem, 0, false)
		}
	} else {
		cx.pl.static = 1 + len(root)
		cx.depth(1)
		if len(root) != 1 || root[0].kind != itElem || root[0].elem.local != "Event" {
			return nil
		}
		cx.element(root[0].elem, 1, true)
	}
	cx.flush()
	if cx.bad {
		return nil
	}
	return cx.pl
}

// startTag compiles "<name attr='…'…" and returns its attribute refs.
func (cx *xcompiler) startTag(t *tnode) []ref {
	cx.lit = append(cx.lit, '<')
	cx.lit = appendNameOK(cx.lit, t.name, t.xmlOK, true)
	r0 := len(cx.pl.refs)
	for i := range t.attrs {
		a := &t.attrs[i]
		head := append([]byte{' '}, appendNameOK(nil, a.name, a.xmlOK, true)...)
		head = append(head, "='"...)
		switch {
		case len(a.val) == 0:
			cx.lit = append(append(cx.lit, head...), '\'')
		case len(a.val) == 1 && a.val[0].kind == itText:
			cx.lit = append(cx.lit, head...)
			cx.lit = appendEscaped(cx.lit, a.val[0].text, true, true)
			cx.lit = append(cx.lit, '\'')
		case len(a.val) == 1 && a.val[0].kind == itSub:
			it := &a.val[0]
			cx.pl.refs = append(cx.pl.refs, ref{sub: it.sub, opt: it.opt})
			cx.op(xop{kind: xAttr, sub: it.sub, opt: it.opt, text: head})
		default:
			cx.fail()
		}
	}
	return cx.pl.refs[r0:len(cx.pl.refs):len(cx.pl.refs)]
}

// element compiles element t at builder depth d (isEvent: the record's
// Event, where a nested fragment may follow a child).
func (cx *xcompiler) element(t *tnode, d int, isEvent bool) {
	if len(t.name) > 0 && t.name[0] == '?' || !distinct(t.attrs) {
		cx.fail()
		return
	}
	cx.pl.static += 8 + len(t.content)
	d++
	cx.depth(d)
	end := append([]byte("</"), appendNameOK(nil, t.name, t.xmlOK, true)...)
	end = append(end, '>')
	if len(t.content) == 1 && t.content[0].kind == itSub {
		// A leaf: its text decides "/>" or ">…</name>", and an array
		// value repeats it.
		cx.flush()
		at := len(cx.pl.ops)
		cx.pl.ops = append(cx.pl.ops, xop{kind: xLeaf, sub: t.content[0].sub, text: end})
		attrs := cx.startTag(t)
		cx.flush()
		cx.pl.ops[at].n = len(cx.pl.ops) - at - 1
		cx.pl.ops[at].attrs = append([]ref(nil), attrs...)
		cx.pl.refs = append(cx.pl.refs, ref{sub: t.content[0].sub, arr: true})
		return
	}
	cx.startTag(t)
	if pieces(t.content) > 1 {
		cx.fail()
		return
	}
	children := false
	for i := range t.content {
		children = children || t.content[i].kind == itElem
	}
	if !children {
		for i := range t.content {
			if it := &t.content[i]; it.kind == itText && it.text != "" {
				cx.lit = append(cx.lit, '>')
				cx.lit = appendEscaped(cx.lit, it.text, false, true)
				cx.lit = append(cx.lit, end...)
				return
			}
		}
		cx.lit = append(cx.lit, "/>"...)
		return
	}
	cx.lit = append(cx.lit, '>')
	seenChild := false
	for i := range t.content {
		switch it := &t.content[i]; it.kind {
		case itElem:
			cx.element(it.elem, d, false)
			seenChild = true
		case itText:
			if seenChild && it.text != "" {
				cx.fail() // the tree writes text before the children
				return
			}
			cx.lit = appendEscaped(cx.lit, it.text, false, true)
		case itSub:
			switch {
			case !seenChild:
				cx.pl.refs = append(cx.pl.refs, ref{sub: it.sub})
				cx.op(xop{kind: xText, sub: it.sub})
			case isEvent:
				cx.pl.refs = append(cx.pl.refs, ref{sub: it.sub, hole: true})
				cx.pl.vals = append(cx.pl.vals, pval{hole: true, sub: it.sub, depth: d})
				cx.op(xop{kind: xHole, sub: it.sub})
			default:
				cx.pl.refs = append(cx.pl.refs, ref{sub: it.sub})
				cx.op(xop{kind: xLate, sub: it.sub})
			}
		}
	}
	cx.lit = append(cx.lit, end...)
}

// planXML writes the XML of run *next and of the runs nested in it; false
// when a value needs the generic renderer after all.
func (r *renderer) planXML(next *int) bool {
	run := r.runs[*next]
	*next++
	ops, vals := run.pl.ops, run.vals
	for i := 0; i < len(ops); i++ {
		op := &ops[i]
		switch op.kind {
		case xStatic:
			r.out = append(r.out, op.text...)
		case xAttr:
			r.xmlAttr(op, vals)
		case xLeaf:
			start := ops[i+1 : i+1+op.n]
			i += op.n
			if op.sub < len(vals) && vals[op.sub].typ&format.TypeArray != 0 {
				if !r.xmlArray(op, start, vals) {
					return false
				}
				continue
			}
			r.xmlStart(start, vals)
			r.val = r.rawSub(r.val[:0], op.sub, vals)
			r.xmlLeafEnd(op, r.val)
		case xText:
			r.val = r.rawSub(r.val[:0], op.sub, vals)
			r.out = appendEscaped(r.out, r.val, false, true)
		case xHole, xLate:
			if op.kind == xHole && op.sub < len(vals) && vals[op.sub].typ == format.TypeBinXml {
				if !r.planXML(next) {
					return false
				}
				continue
			}
			if r.val = r.rawSub(r.val[:0], op.sub, vals); len(r.val) > 0 {
				return false // text after a child element: the tree path's
			}
		}
	}
	return true
}

func (r *renderer) rawSub(dst []byte, sub int, vals []value) []byte {
	if sub >= len(vals) {
		return dst
	}
	return r.appendValue(dst, vals[sub])
}

func (r *renderer) xmlAttr(op *xop, vals []value) {
	if op.opt && isEmpty(op.sub, vals) {
		return
	}
	r.val = r.rawSub(r.val[:0], op.sub, vals)
	r.out = append(r.out, op.text...)
	r.out = appendEscaped(r.out, r.val, true, true)
	r.out = append(r.out, '\'')
}

func (r *renderer) xmlStart(start []xop, vals []value) {
	for i := range start {
		if op := &start[i]; op.kind == xStatic {
			r.out = append(r.out, op.text...)
		} else {
			r.xmlAttr(op, vals)
		}
	}
}

func (r *renderer) xmlLeafEnd(op *xop, text []byte) {
	if len(text) == 0 {
		r.out = append(r.out, "/>"...)
		return
	}
	r.out = append(r.out, '>')
	r.out = appendEscaped(r.out, text, false, true)
	r.out = append(r.out, op.text...)
}

// xmlArray writes a leaf once per element of its array value. An empty
// array writes no element, which can leave the parent's tag open: that is
// left to the generic renderer.
func (r *renderer) xmlArray(op *xop, start []xop, vals []value) bool {
	v := vals[op.sub]
	attrs := 0
	for _, rf := range op.attrs {
		if rf.sub < len(vals) && !(rf.opt && (vals[rf.sub].typ == format.TypeNull || vals[rf.sub].n == 0)) {
			attrs += vals[rf.sub].n
		}
	}
	k := 0
	eachArray(&r.arr, v.typ, r.c.buf[v.off:v.off+v.n], func(text []byte) {
		k++
		r.xmlStart(start, vals)
		r.xmlLeafEnd(op, text)
	})
	r.arrCost += (k-1)*attrs - 9
	return k > 0
}
