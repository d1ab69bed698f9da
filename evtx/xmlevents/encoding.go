package xmlevents

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// IsXML reports whether head (the first bytes of a file) looks like XML: an
// optional UTF-8 or UTF-16 byte-order mark, optional white space, then '<'.
// UTF-16 without a mark is recognised by its zero bytes around '<'.
func IsXML(head []byte) bool {
	enc, skip := sniff(head)
	head = head[skip:]
	step := 1
	if enc != utf8Enc {
		step = 2
	}
	for i := 0; i+step <= len(head); i += step {
		c, ok := unit(head[i:], enc)
		if !ok {
			return false
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '<':
			return true
		}
		return false
	}
	return false
}

type encoding int

const (
	utf8Enc encoding = iota
	utf16LE
	utf16BE
)

// sniff returns the text encoding of head and the length of its byte-order
// mark.
func sniff(head []byte) (encoding, int) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return utf8Enc, 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return utf16LE, 2
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return utf16BE, 2
	case len(head) >= 2 && head[0] == '<' && head[1] == 0:
		return utf16LE, 0
	case len(head) >= 2 && head[0] == 0 && head[1] == '<':
		return utf16BE, 0
	}
	return utf8Enc, 0
}

func unit(b []byte, enc encoding) (uint16, bool) {
	switch enc {
	case utf16LE:
		return uint16(b[0]) | uint16(b[1])<<8, true
	case utf16BE:
		return uint16(b[1]) | uint16(b[0])<<8, true
	}
	return uint16(b[0]), true
}

// utf8Reader returns r as UTF-8 text without its byte-order mark.
func utf8Reader(r io.Reader) (io.Reader, encoding, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, 0, err
	}
	enc, skip := sniff(head)
	br.Discard(skip)
	if enc == utf8Enc {
		return br, enc, nil
	}
	return &utf16Reader{r: br, enc: enc}, enc, nil
}

// utf16Reader transcodes UTF-16 to UTF-8 as it streams, so a multi-gigabyte
// export never has to be held in memory.
type utf16Reader struct {
	r    *bufio.Reader
	enc  encoding
	out  []byte // transcoded bytes not yet returned
	high uint16 // pending high surrogate
	err  error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 && u.err == nil {
		u.fill()
	}
	if len(u.out) > 0 {
		n := copy(p, u.out)
		u.out = u.out[n:]
		return n, nil
	}
	return 0, u.err
}

func (u *utf16Reader) fill() {
	var pair [2]byte
	u.out = u.out[:0]
	for len(u.out) < 4096 {
		if _, err := io.ReadFull(u.r, pair[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				err = io.EOF
			}
			u.err = err
			return
		}
		c, _ := unit(pair[:], u.enc)
		u.out = u.push(u.out, c)
		if u.r.Buffered() == 0 {
			return
		}
	}
}

func (u *utf16Reader) push(out []byte, c uint16) []byte {
	if u.high != 0 {
		h := u.high
		u.high = 0
		if utf16.IsSurrogate(rune(c)) && c >= 0xDC00 {
			return utf8.AppendRune(out, utf16.DecodeRune(rune(h), rune(c)))
		}
		out = utf8.AppendRune(out, utf8.RuneError)
	}
	if c >= 0xD800 && c < 0xDC00 {
		u.high = c
		return out
	}
	return utf8.AppendRune(out, rune(c))
}
