package evtx

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// decodeUTF16 converts little-endian UTF-16 to UTF-8, with a fast path for
// ASCII, and drops trailing NULs (Windows stores terminated strings).
func decodeUTF16(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	ascii := true
	for i := 0; i < n; i++ {
		if b[2*i+1] != 0 || b[2*i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		out := make([]byte, n)
		for i := range out {
			out[i] = b[2*i]
		}
		return string(out)
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = le16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// fixedSize is the element size of fixed-width types (0 when variable).
func fixedSize(t byte) int {
	switch t {
	case format.TypeInt8, format.TypeUint8:
		return 1
	case format.TypeInt16, format.TypeUint16:
		return 2
	case format.TypeInt32, format.TypeUint32, format.TypeReal32, format.TypeBool, format.TypeHex32:
		return 4
	case format.TypeInt64, format.TypeUint64, format.TypeReal64, format.TypeFileTime, format.TypeHex64:
		return 8
	case format.TypeGUID, format.TypeSysTime:
		return 16
	}
	return 0
}

// renderValue renders a scalar value as Windows renders it in XML. Values
// whose bytes do not fit their type render as hex rather than failing the
// record: the text is still evidence.
func renderValue(t byte, b []byte) string {
	if sz := fixedSize(t); sz != 0 && len(b) < sz {
		return hexUpper(b)
	}
	switch t {
	case format.TypeNull:
		return ""
	case format.TypeString:
		return decodeUTF16(b)
	case format.TypeAnsiString:
		return latin1(b)
	case format.TypeInt8:
		return strconv.Itoa(int(int8(b[0])))
	case format.TypeUint8:
		return strconv.Itoa(int(b[0]))
	case format.TypeInt16:
		return strconv.Itoa(int(int16(le16(b))))
	case format.TypeUint16:
		return strconv.Itoa(int(le16(b)))
	case format.TypeInt32:
		return strconv.FormatInt(int64(int32(le32(b))), 10)
	case format.TypeUint32:
		return strconv.FormatUint(uint64(le32(b)), 10)
	case format.TypeInt64:
		return strconv.FormatInt(int64(le64(b)), 10)
	case format.TypeUint64:
		return strconv.FormatUint(le64(b), 10)
	case format.TypeReal32:
		return strconv.FormatFloat(float64(math.Float32frombits(le32(b))), 'g', -1, 32)
	case format.TypeReal64:
		return strconv.FormatFloat(math.Float64frombits(le64(b)), 'g', -1, 64)
	case format.TypeBool:
		if le32(b) != 0 {
			return "true"
		}
		return "false"
	case format.TypeGUID:
		return renderGUID(b)
	case format.TypeSizeT:
		// Windows renders pointers unpadded (ProcessId 0x24c).
		if len(b) == 4 {
			return "0x" + strconv.FormatUint(uint64(le32(b)), 16)
		}
		if len(b) == 8 {
			return "0x" + strconv.FormatUint(le64(b), 16)
		}
	case format.TypeFileTime:
		return formatTime(fileTime(le64(b)))
	case format.TypeSysTime:
		return formatTime(systemTime(b))
	case format.TypeSID:
		if s, ok := renderSID(b); ok {
			return s
		}
	case format.TypeHex32:
		return "0x" + strconv.FormatUint(uint64(le32(b)), 16)
	case format.TypeHex64:
		return "0x" + strconv.FormatUint(le64(b), 16)
	case format.TypeEvtXml:
		return decodeUTF16(b)
	}
	return hexUpper(b)
}

// renderArray splits an array value into its elements' texts.
func renderArray(t byte, b []byte) []string {
	base := t &^ format.TypeArray
	var out []string
	switch base {
	case format.TypeString:
		// NUL-terminated UTF-16 strings back to back.
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				out = append(out, decodeUTF16(b[start:i]))
				start = i + 2
			}
		}
		if start+1 < len(b) {
			out = append(out, decodeUTF16(b[start:]))
		}
		return out
	case format.TypeAnsiString:
		for _, s := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
			out = append(out, latin1([]byte(s)))
		}
		return out
	}
	sz := fixedSize(base)
	if base == format.TypeSizeT {
		sz = 8
	}
	if base == format.TypeSID || sz == 0 {
		return []string{hexUpper(b)}
	}
	for i := 0; i+sz <= len(b); i += sz {
		out = append(out, renderValue(base, b[i:i+sz]))
	}
	return out
}

func latin1(b []byte) string {
	if utf8.Valid(b) {
		return strings.TrimRight(string(b), "\x00")
	}
	r := make([]rune, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		r = append(r, rune(c))
	}
	return string(r)
}

const hexDigits = "0123456789ABCDEF"

func hexUpper(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&15]
	}
	return string(out)
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

func renderGUID(b []byte) string {
	h := func(v uint64, n int) string { return pad(strings.ToUpper(strconv.FormatUint(v, 16)), n) }
	return "{" + h(uint64(le32(b)), 8) + "-" + h(uint64(le16(b[4:])), 4) + "-" + h(uint64(le16(b[6:])), 4) + "-" +
		hexUpper(b[8:10]) + "-" + hexUpper(b[10:16]) + "}"
}

func renderSID(b []byte) (string, bool) {
	if len(b) < 8 {
		return "", false
	}
	n := int(b[1])
	if len(b) < 8+4*n {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	s := "S-" + strconv.Itoa(int(b[0])) + "-" + strconv.FormatUint(auth, 10)
	for i := 0; i < n; i++ {
		s += "-" + strconv.FormatUint(uint64(le32(b[8+4*i:])), 10)
	}
	return s, true
}

// fileTime converts 100 ns ticks since 1601 to UTC.
func fileTime(ft uint64) time.Time {
	const secsTo1970 = 11644473600
	return time.Unix(int64(ft/1e7)-secsTo1970, int64(ft%1e7)*100).UTC()
}

func systemTime(b []byte) time.Time {
	y, mo, d := int(le16(b)), int(le16(b[2:])), int(le16(b[6:]))
	h, mi, s, ms := int(le16(b[8:])), int(le16(b[10:])), int(le16(b[12:])), int(le16(b[14:]))
	return time.Date(y, time.Month(mo), d, h, mi, s, ms*1e6, time.UTC)
}

// formatTime is Windows' SystemTime form: UTC with 100 ns digits.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

// The append forms below write exactly what decodeUTF16, renderValue and
// renderArray return, into a reused buffer: the rendering path must not
// allocate per value.

// appendUTF16 appends decodeUTF16(b).
func appendUTF16(dst []byte, b []byte) []byte {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	for i := 0; i < n; i++ {
		lo, hi := b[2*i], b[2*i+1]
		if hi == 0 && lo < utf8.RuneSelf {
			dst = append(dst, lo)
			continue
		}
		r := rune(le16(b[2*i:]))
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if i+1 < n {
				r2 = utf16.DecodeRune(r, rune(le16(b[2*i+2:])))
			}
			if r2 != utf8.RuneError {
				i++
				r = r2
			} else {
				r = utf8.RuneError
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}

// appendHexFixed writes v as exactly n upper-case hex digits.
func appendHexFixed(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*uint(i)))&15])
	}
	return dst
}

// appendRenderedValue appends renderValue(t, b).
func appendRenderedValue(dst []byte, t byte, b []byte) []byte {
	if sz := fixedSize(t); sz != 0 && len(b) < sz {
		return appendHexUpper(dst, b)
	}
	switch t {
	case format.TypeNull:
		return dst
	case format.TypeString, format.TypeEvtXml:
		return appendUTF16(dst, b)
	case format.TypeAnsiString:
		return appendLatin1(dst, b)
	case format.TypeInt8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case format.TypeUint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10)
	case format.TypeInt16:
		return strconv.AppendInt(dst, int64(int16(le16(b))), 10)
	case format.TypeUint16:
		return strconv.AppendUint(dst, uint64(le16(b)), 10)
	case format.TypeInt32:
		return strconv.AppendInt(dst, int64(int32(le32(b))), 10)
	case format.TypeUint32:
		return strconv.AppendUint(dst, uint64(le32(b)), 10)
	case format.TypeInt64:
		return strconv.AppendInt(dst, int64(le64(b)), 10)
	case format.TypeUint64:
		return strconv.AppendUint(dst, le64(b), 10)
	case format.TypeReal32:
		return strconv.AppendFloat(dst, float64(math.Float32frombits(le32(b))), 'g', -1, 32)
	case format.TypeReal64:
		return strconv.AppendFloat(dst, math.Float64frombits(le64(b)), 'g', -1, 64)
	case format.TypeBool:
		if le32(b) != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case format.TypeGUID:
		dst = append(dst, '{')
		dst = appendHexFixed(dst, uint64(le32(b)), 8)
		dst = append(dst, '-')
		dst = appendHexFixed(dst, uint64(le16(b[4:])), 4)
		dst = append(dst, '-')
		dst = appendHexFixed(dst, uint64(le16(b[6:])), 4)
		dst = append(dst, '-')
		dst = appendHexUpper(dst, b[8:10])
		dst = append(dst, '-')
		dst = appendHexUpper(dst, b[10:16])
		return append(dst, '}')
	case format.TypeSizeT:
		if len(b) == 4 {
			return strconv.AppendUint(append(dst, "0x"...), uint64(le32(b)), 16)
		}
		if len(b) == 8 {
			return strconv.AppendUint(append(dst, "0x"...), le64(b), 16)
		}
	case format.TypeFileTime:
		return appendWinTime(dst, fileTime(le64(b)))
	case format.TypeSysTime:
		return appendWinTime(dst, systemTime(b))
	case format.TypeSID:
		if len(b) >= 8 && len(b) >= 8+4*int(b[1]) {
			var auth uint64
			for _, c := range b[2:8] {
				auth = auth<<8 | uint64(c)
			}
			dst = append(dst, "S-"...)
			dst = strconv.AppendUint(dst, uint64(b[0]), 10)
			dst = append(dst, '-')
			dst = strconv.AppendUint(dst, auth, 10)
			for i := 0; i < int(b[1]); i++ {
				dst = append(dst, '-')
				dst = strconv.AppendUint(dst, uint64(le32(b[8+4*i:])), 10)
			}
			return dst
		}
	case format.TypeHex32:
		return strconv.AppendUint(append(dst, "0x"...), uint64(le32(b)), 16)
	case format.TypeHex64:
		return strconv.AppendUint(append(dst, "0x"...), le64(b), 16)
	}
	return appendHexUpper(dst, b)
}

// appendLatin1 appends latin1(b).
func appendLatin1(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, bytes.TrimRight(b, "\x00")...)
	}
	for _, c := range b {
		if c == 0 {
			break
		}
		dst = utf8.AppendRune(dst, rune(c))
	}
	return dst
}

// eachArray calls fn with the text of each element renderArray(t, b)
// returns, rendered into buf (reused; fn must copy what it keeps).
func eachArray(buf *[]byte, t byte, b []byte, fn func([]byte)) {
	base := t &^ format.TypeArray
	switch base {
	case format.TypeString:
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				*buf = appendUTF16((*buf)[:0], b[start:i])
				fn(*buf)
				start = i + 2
			}
		}
		if start+1 < len(b) {
			*buf = appendUTF16((*buf)[:0], b[start:])
			fn(*buf)
		}
		return
	case format.TypeAnsiString:
		rest := bytes.TrimRight(b, "\x00")
		for {
			piece, after, found := bytes.Cut(rest, []byte{0})
			*buf = appendLatin1((*buf)[:0], piece)
			fn(*buf)
			if !found {
				return
			}
			rest = after
		}
	}
	sz := fixedSize(base)
	if base == format.TypeSizeT {
		sz = 8
	}
	if base == format.TypeSID || sz == 0 {
		*buf = appendHexUpper((*buf)[:0], b)
		fn(*buf)
		return
	}
	for i := 0; i+sz <= len(b); i += sz {
		*buf = appendRenderedValue((*buf)[:0], base, b[i:i+sz])
		fn(*buf)
	}
}

// appendArrayJoined appends strings.Join(renderArray(t, b), ",").
func appendArrayJoined(dst []byte, t byte, b []byte) []byte {
	var tmp []byte
	first := true
	eachArray(&tmp, t, b, func(s []byte) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, s...)
	})
	return dst
}

// appendWinTime appends formatTime(t) (t in UTC): AppendFormat's layout
// interpreter was a seventh of a JSON line's cost.
func appendWinTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
	}
	h, mi, s := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/100, 7)
	return append(dst, 'Z')
}

// appendDigits writes n (0 <= n < 10^width) as exactly width digits.
func appendDigits(dst []byte, n, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, buf[:width]...)
}
