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
