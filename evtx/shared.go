package evtx

import (
	"bytes"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// Every chunk repeats the definitions of the templates its records use,
// and parsing them again in each chunk was a sixth of `tsdiag events`. A
// worker therefore keeps the templates it parsed (sharedTemplates) and
// reuses one for a definition in a later chunk when parsing that definition
// would give the same template: the same fragment bytes, except for the
// name references, which must resolve the same way (inline, or back to a
// name of the same text) and take the same branch of skipDependencyID.
// The names are read (nameAt) in the same order as the parse reads them,
// so the chunk's name cache ends up as after a parse.

// nameField is a name reference a template's parse read: where it is in
// the fragment, and how it resolved.
type nameField struct {
	rel    int  // offset of the 4-byte reference in the fragment
	inline bool // the name follows the reference
	name   string
}

// sharedTemplate is what reusing a template needs to know of its parse.
type sharedTemplate struct {
	frag   []byte // the fragment's bytes (a copy)
	names  []nameField
	depth  int  // parser depth the template was parsed at
	shared bool // every name reference resolved in a way another chunk can check
}

type tmplKey struct {
	guid [16]byte
	size int
}

// sharedTemplates is one worker's templates across chunks. Its arena is
// never reset, only replaced when the cache is full, so templates the
// current chunk still uses stay valid.
type sharedTemplates struct {
	byKey map[tmplKey][]*template
	ar    arena
	tmplS slab[template]
	bytes int // fragment bytes parsed into ar
}

// Templates larger than maxSharedTemplate are parsed per chunk, and the
// cache starts over past maxSharedBytes of fragments: a worker holds a few
// MB at most whatever the input (a real log's templates are 0.5-3 KB).
const (
	maxSharedTemplate = 8 << 10
	maxSharedBytes    = 512 << 10
	maxSharedPerKey   = 4
)

// sharedTemplateAt returns a template for the definition at off parsed at
// depth: one from an earlier chunk when it is the same, else a fresh parse
// kept for later chunks. nil when the definition is too large to keep (the
// caller parses it for the chunk only).
func (c *chunkState) sharedTemplateAt(off, depth int) *template {
	size := int(le32(c.buf[off+20:]))
	if size <= 0 || size > maxSharedTemplate || off+24+size > len(c.buf) {
		return nil
	}
	st := &c.shared
	var key tmplKey
	copy(key.guid[:], c.buf[off+4:off+20])
	key.size = size
	for _, t := range st.byKey[key] {
		if depth <= t.sh.depth && c.sameTemplate(t.sh, off+24) {
			return t
		}
	}
	if st.byKey == nil || st.bytes+size > maxSharedBytes {
		*st = sharedTemplates{byKey: make(map[tmplKey][]*template)}
	}
	st.bytes += size
	sh := &sharedTemplate{depth: depth, shared: true}
	st.ar.items, st.ar.attrs = st.ar.items[:0], st.ar.attrs[:0]
	p := &parser{c: c, ar: &st.ar, b: c.buf, pos: off + 24, end: off + 24 + size, depth: depth, sh: sh, fragOff: off + 24}
	t := st.tmplS.one(template{root: p.fragment()})
	t.locate()
	if sh.shared {
		sh.frag = bytes.Clone(c.buf[off+24 : off+24+size])
		t.sh = sh
		if l := st.byKey[key]; len(l) < maxSharedPerKey {
			st.byKey[key] = append(l, t)
		}
	}
	return t
}

// sameTemplate reports whether the fragment at frag parses as sh's did,
// reading its names as that parse would.
func (c *chunkState) sameTemplate(sh *sharedTemplate, frag int) bool {
	b := c.buf[frag : frag+len(sh.frag)]
	prev := 0
	for i := range sh.names {
		nf := &sh.names[i]
		if !bytes.Equal(b[prev:nf.rel], sh.frag[prev:nf.rel]) {
			return false
		}
		prev = nf.rel + 4
		at := frag + nf.rel
		v := int(le32(c.buf[at:]))
		if nf.inline {
			if v != at+4 {
				return false
			}
		} else if !backName(v, at, len(c.buf)) {
			return false
		}
		if c.nameAt(v) != nf.name {
			return false
		}
	}
	return bytes.Equal(b[prev:], sh.frag[prev:])
}

// backName reports whether a name reference v read at at points back to a
// place skipDependencyID finds plausible whatever the name cache holds.
func backName(v, at, size int) bool {
	return v >= format.ChunkHeaderSize && v < at && v+8 <= size
}

// noteName records a name reference read at at (parser.name) while a
// shared template is parsed.
func (p *parser) noteName(at, off int, s string) {
	inline := off == at+4
	if !inline && !backName(off, at, len(p.b)) {
		p.sh.shared = false
	}
	p.sh.names = append(p.sh.names, nameField{rel: at - p.fragOff, inline: inline, name: s})
}
