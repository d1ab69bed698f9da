package xmlevents

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Windows writes control characters from event payloads straight into its
// XML (a SID lookup failure, a binary string), which XML 1.0 forbids and
// encoding/xml rejects. They are carried through the decoder as private-use
// runes and restored in the values, so such exports read with their values
// intact.
const ctrlBase = 0xF700

func isCtrl(b byte) bool { return b < 0x20 && b != '\t' && b != '\n' && b != '\r' }

type ctrlReader struct {
	r       io.Reader
	pending []byte
	buf     []byte
}

func (c *ctrlReader) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	n, err := c.r.Read(p)
	clean := true
	for _, b := range p[:n] {
		if isCtrl(b) {
			clean = false
			break
		}
	}
	if clean {
		return n, err
	}
	c.buf = c.buf[:0]
	for _, b := range p[:n] {
		if isCtrl(b) {
			c.buf = utf8.AppendRune(c.buf, ctrlBase+rune(b))
		} else {
			c.buf = append(c.buf, b)
		}
	}
	m := copy(p, c.buf)
	c.pending = append(c.pending[:0], c.buf[m:]...)
	if len(c.pending) > 0 {
		return m, nil // err is returned on a later read, with nothing left
	}
	return m, err
}

// restoreCtrl undoes ctrlReader in a decoded value.
func restoreCtrl(s string) string {
	if !hasCtrlRune(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= ctrlBase && r < ctrlBase+0x20 {
			return r - ctrlBase
		}
		return r
	}, s)
}

func hasCtrlRune(s string) bool {
	for _, r := range s {
		if r >= ctrlBase && r < ctrlBase+0x20 {
			return true
		}
	}
	return false
}
