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
)

// ValueType is a BinXml value type as it appears in substitution
// descriptors. Array types carry ArrayFlag.
type ValueType uint8

// BinXml value types (MS-EVEN6 / libyal EVTX notes).
const (
	TypeNull       ValueType = 0x00
	TypeString     ValueType = 0x01
	TypeAnsiString ValueType = 0x02
	TypeInt8       ValueType = 0x03
	TypeUint8      ValueType = 0x04
	TypeInt16      ValueType = 0x05
	TypeUint16     ValueType = 0x06
	TypeInt32      ValueType = 0x07
	TypeUint32     ValueType = 0x08
	TypeInt64      ValueType = 0x09
	TypeUint64     ValueType = 0x0a
	TypeReal32     ValueType = 0x0b
	TypeReal64     ValueType = 0x0c
	TypeBool       ValueType = 0x0d
	TypeBinary     ValueType = 0x0e
	TypeGUID       ValueType = 0x0f
	TypeSizeT      ValueType = 0x10
	TypeFileTime   ValueType = 0x11
	TypeSysTime    ValueType = 0x12
	TypeSID        ValueType = 0x13
	TypeHex32      ValueType = 0x14
	TypeHex64      ValueType = 0x15
	TypeBinXml     ValueType = 0x21
	ArrayFlag      ValueType = 0x80
)

// Value is one typed substitution value. Build it with the constructors
// below; the zero Value is Null (an absent optional value).
type Value struct {
	Type ValueType
	raw  []byte   // encoded bytes, except for BinXml
	text []string // rendering per element, as Windows renders it in XML
	elem *Element // BinXml content, encoded when the chunk is known
	// classic holds the substitutions of the nested ReportEvent EventData
	// template when this value is a Classic payload.
	classic []Value
	err     error
}

// Text renders the value the way Event Viewer's XML shows it; arrays
// render their elements joined by ", " (use Texts for each element).
func (v Value) Text() string { return strings.Join(v.text, ", ") }

// Texts renders each element of an array (one item for scalars).
func (v Value) Texts() []string { return append([]string(nil), v.text...) }

// Null is an absent optional value.
func Null() Value { return Value{} }

// String is a UTF-16 string value.
func String(s string) Value {
	return Value{Type: TypeString, raw: utf16le(s), text: []string{s}}
}

// AnsiString is an 8-bit string value (written as given).
func AnsiString(s string) Value {
	return Value{Type: TypeAnsiString, raw: []byte(s), text: []string{s}}
}

func Int8(n int8) Value { return scalar(TypeInt8, []byte{byte(n)}, strconv.Itoa(int(n))) }
func Uint8(n uint8) Value {
	return scalar(TypeUint8, []byte{n}, strconv.Itoa(int(n)))
}
func Int16(n int16) Value {
	return scalar(TypeInt16, le16(uint16(n)), strconv.Itoa(int(n)))
}
func Uint16(n uint16) Value {
	return scalar(TypeUint16, le16(n), strconv.Itoa(int(n)))
}
func Int32(n int32) Value {
	return scalar(TypeInt32, le32(uint32(n)), strconv.Itoa(int(n)))
}
func Uint32(n uint32) Value {
	return scalar(TypeUint32, le32(n), strconv.FormatUint(uint64(n), 10))
}
func Int64(n int64) Value {
	return scalar(TypeInt64, le64(uint64(n)), strconv.FormatInt(n, 10))
}
func Uint64(n uint64) Value {
	return scalar(TypeUint64, le64(n), strconv.FormatUint(n, 10))
}

// Real32 and Real64 render with the shortest text that reads back exactly.
func Real32(f float32) Value {
	return scalar(TypeReal32, le32(math.Float32bits(f)), strconv.FormatFloat(float64(f), 'g', -1, 32))
}
func Real64(f float64) Value {
	return scalar(TypeReal64, le64(math.Float64bits(f)), strconv.FormatFloat(f, 'g', -1, 64))
}

// Bool is stored as a 32-bit integer, as Windows does.
func Bool(b bool) Value {
	n, s := uint32(0), "false"
	if b {
		n, s = 1, "true"
	}
	return scalar(TypeBool, le32(n), s)
}

// Binary renders as upper-case hex.
func Binary(b []byte) Value {
	return scalar(TypeBinary, append([]byte(nil), b...), fmt.Sprintf("%X", b))
}

// GUID takes the canonical text form, with or without braces.
func GUID(s string) Value {
	b, err := guidBytes(s)
	v := scalar(TypeGUID, b, "{"+strings.ToUpper(strings.Trim(s, "{}"))+"}")
	v.err = err
	return v
}

// SizeT is a 64-bit size_t, rendered in hex as Windows does.
func SizeT(n uint64) Value { return scalar(TypeSizeT, le64(n), fmt.Sprintf("0x%x", n)) }

// FileTime renders as RFC 3339 UTC with 100 ns precision.
func FileTime(t time.Time) Value {
	return scalar(TypeFileTime, le64(toFileTime(t)), formatTime(t.Truncate(100*time.Nanosecond)))
}

// SysTime is a SYSTEMTIME (millisecond precision).
func SysTime(t time.Time) Value {
	t = t.UTC().Truncate(time.Millisecond)
	return scalar(TypeSysTime, systemTime(t), formatTime(t))
}

// SID takes the S-1-… text form.
func SID(s string) Value {
	b, err := sidBytes(s)
	v := scalar(TypeSID, b, s)
	v.err = err
	return v
}

// Hex32 and Hex64 render as Windows' XML does: 0x and minimal lower-case hex.
func Hex32(n uint32) Value { return scalar(TypeHex32, le32(n), fmt.Sprintf("0x%x", n)) }
func Hex64(n uint64) Value { return scalar(TypeHex64, le64(n), fmt.Sprintf("0x%x", n)) }

// BinXml is a nested BinXml fragment holding e; it renders as compact XML.
func BinXml(e Element) Value {
	return Value{Type: TypeBinXml, elem: &e, text: []string{e.xml()}}
}

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
	v := Value{Type: t | ArrayFlag, raw: []byte{}, text: []string{}}
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
		v.raw = append(v.raw, e.raw...)
		if t == TypeString {
			v.raw = append(v.raw, 0, 0)
		} else if t == TypeAnsiString {
			v.raw = append(v.raw, 0)
		}
		v.text = append(v.text, e.text...)
	}
	return v
}

func scalar(t ValueType, raw []byte, text string) Value {
	return Value{Type: t, raw: raw, text: []string{text}}
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func le16(n uint16) []byte { return binary.LittleEndian.AppendUint16(nil, n) }
func le32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
func le64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

// fileTimeOffset is the number of seconds from 1601-01-01 (the FILETIME
// origin) to the Unix epoch.
const fileTimeOffset = 11644473600

func toFileTime(t time.Time) uint64 {
	return uint64(t.Unix()+fileTimeOffset)*1e7 + uint64(t.Nanosecond()/100)
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
