package xmlevents

import (
	"fmt"
	"io"
)

// DefaultMaxValue bounds one text or attribute value. An EVTX record fits a
// 64 KiB chunk, so no value rendered from one comes near 1 MiB; a larger
// one is hostile or broken, and holding it whole would cost it several
// times over (encoding/xml's text buffer grown by doubling, the value, and
// the engine's evidence).
const DefaultMaxValue = 1 << 20

// clipper sits between the input and encoding/xml and cuts any text or
// quoted attribute value longer than max before the decoder buffers it: the
// rest of the value is read and dropped, and a marker stands in for it.
// Input without such a value passes through unchanged. It tracks just
// enough of XML's lexical structure (tags, quotes, comments, CDATA,
// processing instructions) to know where a value starts and ends; CDATA
// sections are not cut (the guard's byte limit still bounds them).
//
// It is a ByteReader, so the decoder adds no buffer of its own and every
// dropped byte lies before the decoder's position: dropped and inserted
// correct the decoder's offset and line exactly.
type clipper struct {
	r   io.ByteReader
	max int

	state    lexState
	quote    byte // the open attribute quote, in stateTag
	head     []byte
	end      terminator
	run      int // bytes of the current value passed on
	entity   int // bytes since an unclosed '&', 0 outside an entity
	out      []byte
	err      error
	dropped  int64
	inserted int64
	lines    int // newlines among the dropped bytes
	cuts     int // values cut since the count was last taken
}

type lexState uint8

const (
	stateText lexState = iota
	stateOpen          // just after '<': what follows decides the markup
	stateTag           // a tag or a directive, up to its '>'
	stateComment
	stateCDATA
	statePI
)

// marker stands in for what was cut. It holds no '<', '&' or quote, so it
// is valid in text and in either kind of attribute value.
func marker(max int) string {
	return fmt.Sprintf("… [cut by tsdiag: value over %d bytes]", max)
}

func newClipper(r io.ByteReader, max int) *clipper {
	return &clipper{r: r, max: max}
}

func (c *clipper) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := c.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = b
		n++
	}
	return n, nil
}

func (c *clipper) ReadByte() (byte, error) {
	if len(c.out) > 0 {
		b := c.out[0]
		c.out = c.out[1:]
		return b, nil
	}
	if c.err != nil {
		return 0, c.err
	}
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if c.inValue(b) && c.run >= c.max && c.entity == 0 && runeStart(b) {
		c.cut(b)
		return c.ReadByte()
	}
	c.step(b)
	return b, nil
}

func runeStart(b byte) bool { return b < 0x80 || b >= 0xC0 }

// inValue tells whether b, read in the current state, is part of a text or
// attribute value (rather than what ends it).
func (c *clipper) inValue(b byte) bool {
	switch c.state {
	case stateText:
		return b != '<'
	case stateTag:
		return c.quote != 0 && b != c.quote
	}
	return false
}

// cut drops b and the rest of the value, then queues the marker and the
// byte that ended the value, which is stepped like any other.
func (c *clipper) cut(b byte) {
	c.cuts++
	c.drop(b)
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			c.err = err
			c.queueMarker()
			return
		}
		if !c.inValue(b) {
			c.queueMarker()
			c.out = append(c.out, b)
			c.step(b)
			return
		}
		c.drop(b)
	}
}

func (c *clipper) drop(b byte) {
	c.dropped++
	if b == '\n' {
		c.lines++
	}
}

func (c *clipper) queueMarker() {
	m := marker(c.max)
	c.out = append(c.out[:0], m...)
	c.inserted += int64(len(m))
}

// step advances the lexical state past b.
func (c *clipper) step(b byte) {
	switch c.state {
	case stateText:
		if b == '<' {
			c.state, c.head = stateOpen, c.head[:0]
			return
		}
		c.value(b)
	case stateOpen:
		c.open(b)
	case stateTag:
		c.tag(b)
	case stateComment, stateCDATA, statePI:
		if c.end.step(b) {
			c.toText()
		}
	}
}

func (c *clipper) toText() {
	c.state, c.run, c.entity = stateText, 0, 0
}

// value counts a byte of a value, and whether it is inside an entity
// reference (which must not be cut in two). An '&' left open for longer
// than any entity name is an error the decoder reports; it stops counting
// as an entity so the value can still be cut.
func (c *clipper) value(b byte) {
	c.run++
	switch {
	case b == '&':
		c.entity = 1
	case b == ';' || c.entity > 64:
		c.entity = 0
	case c.entity > 0:
		c.entity++
	}
}

var (
	commentOpen = "!--"
	cdataOpen   = "![CDATA["
)

// open decides, from the bytes after '<', which markup this is.
func (c *clipper) open(b byte) {
	c.head = append(c.head, b)
	h := string(c.head)
	switch {
	case h == "?":
		c.state, c.end = statePI, terminator{term: "?>"}
	case h == commentOpen:
		c.state, c.end = stateComment, terminator{term: "-->"}
	case h == cdataOpen:
		c.state, c.end = stateCDATA, terminator{term: "]]>"}
	case isPrefix(h, commentOpen) || isPrefix(h, cdataOpen):
		// not decided yet
	default:
		c.state, c.quote = stateTag, 0
		c.tag(b)
	}
}

func isPrefix(s, of string) bool { return len(s) <= len(of) && of[:len(s)] == s }

// tag follows a tag or directive: quotes open and close attribute values,
// and '>' outside them ends it.
func (c *clipper) tag(b byte) {
	switch {
	case c.quote != 0 && b == c.quote:
		c.quote = 0
	case c.quote != 0:
		c.value(b)
	case b == '"' || b == '\'':
		c.quote, c.run, c.entity = b, 0, 0
	case b == '>':
		c.toText()
	}
}

// terminator matches the end of a comment, CDATA section or processing
// instruction.
type terminator struct {
	term string
	n    int
}

func (t *terminator) step(b byte) bool {
	switch {
	case b == t.term[t.n]:
		t.n++
	case t.n == 2 && t.term[0] == t.term[1] && b == t.term[0]:
		// "---" and "]]]" still end in the two bytes a terminator needs.
	case b == t.term[0]:
		t.n = 1
	default:
		t.n = 0
	}
	if t.n == len(t.term) {
		t.n = 0
		return true
	}
	return false
}

// takeCuts returns the values cut since the last call.
func (c *clipper) takeCuts() int {
	n := c.cuts
	c.cuts = 0
	return n
}
