package evtx

// slab hands out slices of T carved from large blocks. Parsing a chunk's
// templates and records would otherwise allocate once per element, item and
// attribute list; with slabs reset per chunk (templates) or per record, the
// filtered path allocates nothing in the steady state and the collector has
// almost no work, which is what lets chunk decoding scale across cores.
type slab[T any] struct {
	blocks [][]T
	cur    int // block being carved
	used   int // elements of blocks[cur] handed out
}

const (
	slabBlock = 512
	// slabKeep bounds the blocks kept across resets, so one hostile record
	// that expanded hugely does not pin its memory for the rest of the run.
	slabKeep = 64
)

// take returns n elements (stale contents: the caller overwrites them).
func (s *slab[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	for s.cur < len(s.blocks) {
		b := s.blocks[s.cur]
		if s.used+n <= len(b) {
			out := b[s.used : s.used+n : s.used+n]
			s.used += n
			return out
		}
		s.cur++
		s.used = 0
	}
	b := make([]T, max(n, slabBlock))
	s.blocks = append(s.blocks, b)
	s.used = n
	return b[:n:n]
}

// one returns a pointer to a single element set to v.
func (s *slab[T]) one(v T) *T {
	p := &s.take(1)[0]
	*p = v
	return p
}

// reset makes every block reusable; what was handed out must be dead.
func (s *slab[T]) reset() {
	if len(s.blocks) > slabKeep {
		clear(s.blocks[slabKeep:])
		s.blocks = s.blocks[:slabKeep]
	}
	s.cur, s.used = 0, 0
}

// commit moves what was pushed on scratch since mark into a slice of its
// exact size taken from s, and pops it.
func commit[T any](scratch *[]T, s *slab[T], mark int) []T {
	out := s.take(len(*scratch) - mark)
	copy(out, (*scratch)[mark:])
	*scratch = (*scratch)[:mark]
	return out
}

// arena is the set of slabs one parse draws from.
type arena struct {
	items []item // scratch stack: content being collected, committed on close
	attrs []tattr
	itemS slab[item]
	attrS slab[tattr]
	nodeS slab[tnode]
	instS slab[instance]
}

func (a *arena) reset() {
	a.items, a.attrs = a.items[:0], a.attrs[:0]
	a.itemS.reset()
	a.attrS.reset()
	a.nodeS.reset()
	a.instS.reset()
}

// offTable maps chunk offsets to what was parsed there (names, templates).
// A chunk holds few of either (a real System log: about 8 templates and 28
// names per chunk): a linear scan of a short slice replaces map lookups,
// which were 17% of a filtered decode's CPU profile. Past offTableScan
// entries a map takes over, so a hostile chunk with thousands of templates
// stays linear overall.
type offTable[T any] struct {
	keys []int
	vals []T
	big  map[int]T
}

const offTableScan = 32

func (t *offTable[T]) get(off int) (T, bool) {
	if t.big != nil {
		v, ok := t.big[off]
		return v, ok
	}
	for i, k := range t.keys {
		if k == off {
			return t.vals[i], true
		}
	}
	var zero T
	return zero, false
}

func (t *offTable[T]) put(off int, v T) {
	if t.big != nil {
		t.big[off] = v
		return
	}
	t.keys = append(t.keys, off)
	t.vals = append(t.vals, v)
	if len(t.keys) > offTableScan {
		t.big = make(map[int]T, 2*offTableScan)
		for i, k := range t.keys {
			t.big[k] = t.vals[i]
		}
	}
}

func (t *offTable[T]) reset() {
	clear(t.vals) // drop references into the previous chunk's slabs
	t.keys, t.vals, t.big = t.keys[:0], t.vals[:0], nil
}
