package xmlevents

import (
	"io"
	"strings"
	"unicode/utf8"
)

// sanitizer makes real-world exports readable by encoding/xml:
//
//   - Windows writes control characters from event payloads straight into its
//     XML (a binary string, a broken SID lookup), which XML 1.0 forbids. They
//     are carried through the decoder as private-use runes and restored in the
//     values (restoreCtrl), so such exports read with their values intact.
//   - Exports saved with PowerShell's `Out-File -Encoding Default` are in the
//     ANSI code page, not UTF-8. Bytes that are not valid UTF-8 are read as
//     Windows-1252 (Latin-1 for the C1 range) instead of ending the file at
//     the first accented letter.
type sanitizer struct {
	r       io.Reader
	in      []byte
	carry   []byte // an incomplete UTF-8 sequence held for the next read
	pending []byte // output that did not fit the caller's buffer
	out     []byte // pending's backing array, reused: a fill per read must not allocate
	err     error
}

const ctrlBase = 0xF700

func isCtrl(b byte) bool { return b < 0x20 && b != '\t' && b != '\n' && b != '\r' }

func (s *sanitizer) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill(len(p))
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *sanitizer) fill(size int) {
	if cap(s.in) < size+4 {
		s.in = make([]byte, 0, size+4)
	}
	data := append(s.in[:0], s.carry...)
	n, err := s.r.Read(data[len(data):cap(data)])
	data = data[:len(data)+n]
	s.carry = s.carry[:0]
	s.err = err
	out := s.out[:0]
	for i := 0; i < len(data); {
		b := data[i]
		switch {
		case b < utf8.RuneSelf:
			if isCtrl(b) {
				out = utf8.AppendRune(out, ctrlBase+rune(b))
			} else {
				out = append(out, b)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r != utf8.RuneError || size > 1:
			out = append(out, data[i:i+size]...)
			i += size
		case !utf8.FullRune(data[i:]) && err == nil:
			s.carry = append(s.carry, data[i:]...)
			i = len(data)
		default:
			out = utf8.AppendRune(out, cp1252(b))
			i++
		}
	}
	s.out, s.pending = out, out
}

// cp1252 maps a byte of the Windows-1252 code page to its rune.
func cp1252(b byte) rune {
	if b >= 0x80 && b < 0xA0 {
		if r := cp1252C1[b-0x80]; r != 0 {
			return r
		}
	}
	return rune(b)
}

var cp1252C1 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// restoreCtrl undoes the control-character carrying in a decoded value.
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
