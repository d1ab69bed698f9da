package writer

import (
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// ValueType is a BinXml value type as it appears in substitution
// descriptors. Array types carry ArrayFlag.
type ValueType uint8

// BinXml value types, with the values evtx/internal/format defines.
const (
	TypeNull       ValueType = format.TypeNull
	TypeString     ValueType = format.TypeString
	TypeAnsiString ValueType = format.TypeAnsiString
	TypeInt8       ValueType = format.TypeInt8
	TypeUint8      ValueType = format.TypeUint8
	TypeInt16      ValueType = format.TypeInt16
	TypeUint16     ValueType = format.TypeUint16
	TypeInt32      ValueType = format.TypeInt32
	TypeUint32     ValueType = format.TypeUint32
	TypeInt64      ValueType = format.TypeInt64
	TypeUint64     ValueType = format.TypeUint64
	TypeReal32     ValueType = format.TypeReal32
	TypeReal64     ValueType = format.TypeReal64
	TypeBool       ValueType = format.TypeBool
	TypeBinary     ValueType = format.TypeBinary
	TypeGUID       ValueType = format.TypeGUID
	TypeSizeT      ValueType = format.TypeSizeT
	TypeFileTime   ValueType = format.TypeFileTime
	TypeSysTime    ValueType = format.TypeSysTime
	TypeSID        ValueType = format.TypeSID
	TypeHex32      ValueType = format.TypeHex32
	TypeHex64      ValueType = format.TypeHex64
	TypeBinXml     ValueType = format.TypeBinXml
	ArrayFlag      ValueType = format.TypeArray
)

// Value is one typed substitution value. Build it with the constructors
// below; the zero Value is Null (an absent optional value). Values keep
// their number or string and are encoded straight into the chunk; the text
// form is only rendered when asked for.
type Value struct {
	Type ValueType
	n    uint64 // fixed-size scalars: integers, float bits, bool, FILETIME, hex, size_t
	s    string // String and AnsiString; the canonical text of GUID and SID
	raw  []byte // GUID, SID, SYSTEMTIME and Binary bytes
	// elems are an array's elements; classic holds the substitutions of the
	// nested ReportEvent EventData template of a Classic payload.
	elems   []Value
	classic []Value
	elem    *Element // BinXml content, encoded when the chunk is known
	err     error
}

// Text renders the value the way Event Viewer's XML shows it; arrays
// render their elements joined by ", " (use Texts for each element).
func (v Value) Text() string { return strings.Join(v.Texts(), ", ") }

// Texts renders each element of an array (one item for scalars).
func (v Value) Texts() []string {
	if v.Type&ArrayFlag == 0 {
		return []string{v.scalarText()}
	}
	out := make([]string, len(v.elems))
	for i, e := range v.elems {
		out[i] = e.scalarText()
	}
	return out
}

func (v Value) scalarText() string {
	switch v.Type {
	case TypeString, TypeAnsiString, TypeGUID, TypeSID:
		return v.s
	case TypeInt8:
		return strconv.Itoa(int(int8(v.n)))
	case TypeInt16:
		return strconv.Itoa(int(int16(v.n)))
	case TypeInt32:
		return strconv.Itoa(int(int32(v.n)))
	case TypeInt64:
		return strconv.FormatInt(int64(v.n), 10)
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		return strconv.FormatUint(v.n, 10)
	case TypeReal32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.n))), 'g', -1, 32)
	case TypeReal64:
		return strconv.FormatFloat(math.Float64frombits(v.n), 'g', -1, 64)
	case TypeBool:
		return strconv.FormatBool(v.n != 0)
	case TypeBinary:
		return fmt.Sprintf("%X", v.raw)
	case TypeSizeT, TypeHex32, TypeHex64:
		return "0x" + strconv.FormatUint(v.n, 16)
	case TypeFileTime:
		return formatTime(fromFileTime(v.n))
	case TypeSysTime:
		return formatTime(fromSystemTime(v.raw))
	case TypeBinXml:
		if v.elem != nil {
			return v.elem.xml()
		}
	}
	return ""
}

// size is the byte length of a fixed-size scalar type, 0 for the others.
func (t ValueType) size() int {
	switch t {
	case TypeInt8, TypeUint8:
		return 1
	case TypeInt16, TypeUint16:
		return 2
	case TypeInt32, TypeUint32, TypeReal32, TypeBool, TypeHex32:
		return 4
	case TypeInt64, TypeUint64, TypeReal64, TypeSizeT, TypeFileTime, TypeHex64:
		return 8
	}
	return 0
}

// appendTo encodes a scalar or array value (BinXml excepted).
func (v Value) appendTo(b []byte) []byte {
	if v.Type&ArrayFlag != 0 {
		for _, e := range v.elems {
			b = e.appendTo(b)
			switch e.Type {
			case TypeString:
				b = append(b, 0, 0)
			case TypeAnsiString:
				b = append(b, 0)
			}
		}
		return b
	}
	switch n := v.Type.size(); {
	case n > 0:
		for i := 0; i < n; i++ {
			b = append(b, byte(v.n>>(8*i)))
		}
		return b
	case v.Type == TypeString:
		return appendUTF16(b, v.s)
	case v.Type == TypeAnsiString:
		return append(b, v.s...)
	}
	return append(b, v.raw...)
}

// Null is an absent optional value.
func Null() Value { return Value{} }

// String is a UTF-16 string value.
func String(s string) Value { return Value{Type: TypeString, s: s} }

// AnsiString is an 8-bit string value (written as given).
func AnsiString(s string) Value { return Value{Type: TypeAnsiString, s: s} }

func Int8(n int8) Value     { return Value{Type: TypeInt8, n: uint64(uint8(n))} }
func Uint8(n uint8) Value   { return Value{Type: TypeUint8, n: uint64(n)} }
func Int16(n int16) Value   { return Value{Type: TypeInt16, n: uint64(uint16(n))} }
func Uint16(n uint16) Value { return Value{Type: TypeUint16, n: uint64(n)} }
func Int32(n int32) Value   { return Value{Type: TypeInt32, n: uint64(uint32(n))} }
func Uint32(n uint32) Value { return Value{Type: TypeUint32, n: uint64(n)} }
func Int64(n int64) Value   { return Value{Type: TypeInt64, n: uint64(n)} }
func Uint64(n uint64) Value { return Value{Type: TypeUint64, n: n} }

// Real32 and Real64 render with the shortest text that reads back exactly.
func Real32(f float32) Value { return Value{Type: TypeReal32, n: uint64(math.Float32bits(f))} }
func Real64(f float64) Value { return Value{Type: TypeReal64, n: math.Float64bits(f)} }

// Bool is stored as a 32-bit integer, as Windows does.
func Bool(b bool) Value {
	v := Value{Type: TypeBool}
	if b {
		v.n = 1
	}
	return v
}

// Binary renders as upper-case hex.
func Binary(b []byte) Value { return Value{Type: TypeBinary, raw: append([]byte(nil), b...)} }

// GUID takes the canonical text form, with or without braces.
func GUID(s string) Value {
	b, err := guidBytes(s)
	return Value{Type: TypeGUID, raw: b, s: "{" + strings.ToUpper(strings.Trim(s, "{}")) + "}", err: err}
}

// SizeT is a 64-bit size_t, rendered in hex as Windows does.
func SizeT(n uint64) Value { return Value{Type: TypeSizeT, n: n} }

// FileTime renders as RFC 3339 UTC with 100 ns precision.
func FileTime(t time.Time) Value { return Value{Type: TypeFileTime, n: toFileTime(t)} }

// SysTime is a SYSTEMTIME (millisecond precision).
func SysTime(t time.Time) Value {
	return Value{Type: TypeSysTime, raw: systemTime(t.UTC().Truncate(time.Millisecond))}
}

// SID takes the S-1-… text form.
func SID(s string) Value {
	b, err := sidBytes(s)
	return Value{Type: TypeSID, raw: b, s: s, err: err}
}

// Hex32 and Hex64 render as Windows' XML does: 0x and minimal lower-case hex.
func Hex32(n uint32) Value { return Value{Type: TypeHex32, n: uint64(n)} }
func Hex64(n uint64) Value { return Value{Type: TypeHex64, n: n} }

// BinXml is a nested BinXml fragment holding e; it renders as compact XML.
func BinXml(e Element) Value { return Value{Type: TypeBinXml, elem: &e} }

func (e Element) xml() string {
	var b strings.Builder
	b.WriteString("<" + e.Name)
	for _, a := range e.Attrs {
		b.WriteString(" " + a.Name + "='" + xmlEscape(a.Value) + "'")
	}
	b.WriteString(">" + xmlEscape(e.Text))
	for _, c := range e.Children {
		b.WriteString(c.xml())
	}
	b.WriteString("</" + e.Name + ">")
	return b.String()
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// ArrayOf builds an array of t from elements that must all be of type t.
// Strings are NUL-terminated inside the array, as Windows writes them.
func ArrayOf(t ValueType, elems ...Value) Value {
	v := Value{Type: t | ArrayFlag, elems: elems}
	// Binary and BinXml elements carry no length of their own, so an
	// array of them could not be split again.
	if t == TypeBinXml || t == TypeBinary || t == TypeNull || t&ArrayFlag != 0 {
		v.err = fmt.Errorf("arrays of type 0x%02x are not supported", uint8(t))
		return v
	}
	for _, e := range elems {
		if e.Type != t {
			v.err = fmt.Errorf("array of type 0x%02x holds an element of type 0x%02x", uint8(t), uint8(e.Type))
			return v
		}
		if e.err != nil {
			v.err = e.err
			return v
		}
	}
	return v
}

func utf16le(s string) []byte { return appendUTF16(nil, s) }

func appendUTF16(b []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			b = append(b, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// fileTimeOffset is the number of seconds from 1601-01-01 (the FILETIME
// origin) to the Unix epoch.
const fileTimeOffset = 11644473600

func toFileTime(t time.Time) uint64 {
	return uint64(t.Unix()+fileTimeOffset)*1e7 + uint64(t.Nanosecond()/100)
}

func fromFileTime(n uint64) time.Time {
	return time.Unix(int64(n/1e7)-fileTimeOffset, int64(n%1e7)*100).UTC()
}

func fromSystemTime(b []byte) time.Time {
	f := make([]int, 8)
	for i := range f {
		if 2*i+1 < len(b) {
			f[i] = int(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return time.Date(f[0], time.Month(f[1]), f[3], f[4], f[5], f[6], f[7]*1e6, time.UTC)
}

func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func systemTime(t time.Time) []byte {
	f := []int{t.Year(), int(t.Month()), int(t.Weekday()), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond() / 1e6}
	b := make([]byte, 0, 16)
	for _, n := range f {
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	return b
}

// guidBytes encodes the mixed-endian GUID layout: the first three groups
// little-endian, the last two as written.
func guidBytes(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(h) != 32 {
		return make([]byte, 16), fmt.Errorf("bad GUID %q", s)
	}
	var raw [16]byte
	for i := range raw {
		n, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return make([]byte, 16), fmt.Errorf("bad GUID %q", s)
		}
		raw[i] = byte(n)
	}
	b := []byte{raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]}
	return append(b, raw[8:]...), nil
}

func sidBytes(s string) ([]byte, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		return nil, fmt.Errorf("bad SID %q", s)
	}
	rev, err1 := strconv.ParseUint(parts[1], 10, 8)
	auth, err2 := strconv.ParseUint(parts[2], 10, 48)
	if err1 != nil || err2 != nil || len(parts)-3 > 15 {
		return nil, fmt.Errorf("bad SID %q", s)
	}
	b := []byte{byte(rev), byte(len(parts) - 3)}
	for shift := 40; shift >= 0; shift -= 8 {
		b = append(b, byte(auth>>uint(shift)))
	}
	for _, p := range parts[3:] {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad SID %q", s)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	return b, nil
}
