package regcfg

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Registry value types as .reg files and the registry name them.
const (
	TypeNone     = 0
	TypeSZ       = 1
	TypeExpandSZ = 2
	TypeBinary   = 3
	TypeDWORD    = 4
	TypeDWORDBE  = 5
	TypeMultiSZ  = 7
	TypeQWORD    = 11
)

// MaxRegFileSize bounds what ParseReg reads, and MaxRegLine one line of it
// (a value continued over several lines counts as one). The licensing keys
// (Terminal Server, its licensing policies, the TermService service key)
// export to a few KiB, a whole Terminal Server key with its subkeys to well
// under 1 MiB; callers may hold the whole file (tsdiag scan reads it once
// for two passes), so the bound is what that may cost: 8 MiB. A 250 MB
// export of one line took 2.8 GB when both were 256 MiB. The longest line
// of a real export is a hex-encoded binary value: 1 MiB of text holds a
// value of over 300 KB, larger than any licensing value.
const (
	MaxRegFileSize = 8 << 20
	MaxRegLine     = 1 << 20
)

// ErrNotReg is returned when the input does not start with a regedit header.
var ErrNotReg = errors.New("not a registry export (.reg)")

// Value is one registry value as stored: its type and raw bytes (strings
// as UTF-16LE with their terminator, the way the registry holds them).
type Value struct {
	Type int
	Data []byte
}

// String renders REG_SZ/REG_EXPAND_SZ values; other types give "".
func (v Value) String() string {
	if v.Type != TypeSZ && v.Type != TypeExpandSZ {
		return ""
	}
	s := decodeUTF16(v.Data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s
}

// Strings renders a REG_MULTI_SZ value (empty strings dropped, as the
// registry editor does); a REG_SZ gives its one string.
func (v Value) Strings() []string {
	if v.Type == TypeSZ || v.Type == TypeExpandSZ {
		if s := v.String(); s != "" {
			return []string{s}
		}
		return nil
	}
	if v.Type != TypeMultiSZ {
		return nil
	}
	var out []string
	for _, s := range strings.Split(decodeUTF16(v.Data), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Uint returns a DWORD/QWORD value.
func (v Value) Uint() (uint64, bool) {
	switch {
	case v.Type == TypeDWORD && len(v.Data) >= 4:
		return uint64(binary.LittleEndian.Uint32(v.Data)), true
	case v.Type == TypeDWORDBE && len(v.Data) >= 4:
		return uint64(binary.BigEndian.Uint32(v.Data)), true
	case v.Type == TypeQWORD && len(v.Data) >= 8:
		return binary.LittleEndian.Uint64(v.Data), true
	}
	return 0, false
}

// RegFile is the content of one or more .reg exports: keys by canonical
// path (see CanonicalKey), each with its values by lower-case name.
type RegFile struct {
	Names []string // files read, in order
	keys  map[string]*regKey
}

type regKey struct {
	path   string // as first written
	values map[string]Value
}

// NewRegFile returns an empty set of exports to Parse into.
func NewRegFile() *RegFile { return &RegFile{keys: map[string]*regKey{}} }

// ParseReg reads one .reg export (regedit 5.00 in UTF-16LE with a BOM, as
// regedit and `reg export` write it, or UTF-8/ANSI; REGEDIT4 too).
func ParseReg(r io.Reader, name string) (*RegFile, error) {
	f := NewRegFile()
	return f, f.Parse(r, name)
}

// IsReg reports whether head (the first bytes of a file) is a registry
// export, whatever its encoding.
func IsReg(head []byte) bool {
	text := decodeText(head)
	text = strings.TrimLeft(text, "\ufeff \t\r\n")
	return strings.HasPrefix(text, "Windows Registry Editor Version") || strings.HasPrefix(text, "REGEDIT4")
}

// Parse adds one export to f. Later files override earlier ones value by
// value; deletions ([-KEY], "name"=-) are applied. The export is read line
// by line: memory is one line (at most MaxRegLine) plus the values kept.
func (f *RegFile) Parse(r io.Reader, name string) error {
	lr := newLineReader(r)
	head, err := lr.br.Peek(512)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !IsReg(head) {
		return fmt.Errorf("%s: %w", name, ErrNotReg)
	}
	p := &parser{f: f, name: name, v4: strings.HasPrefix(strings.TrimLeft(decodeText(head), "\ufeff \t\r\n"), "REGEDIT4")}
	lr.start(head)
	if err := p.run(lr); err != nil {
		return err
	}
	f.Names = append(f.Names, name)
	return nil
}

// Value looks up a value; key is any spelling CanonicalKey accepts and
// name "" is the key's default value.
func (f *RegFile) Value(key, name string) (Value, bool) {
	k, ok := f.keys[CanonicalKey(key)]
	if !ok {
		return Value{}, false
	}
	v, ok := k.values[strings.ToLower(name)]
	return v, ok
}

// KeyExists reports whether the exports hold key.
func (f *RegFile) KeyExists(key string) bool {
	_, ok := f.keys[CanonicalKey(key)]
	return ok
}

// SubKeys lists the names of key's direct sub-keys present in the exports.
func (f *RegFile) SubKeys(key string) []string {
	base := strings.Split(CanonicalKey(key), `\`)
	seen := map[string]bool{}
	var out []string
	for c, k := range f.keys {
		parts := strings.Split(c, `\`)
		orig := strings.Split(k.path, `\`)
		if len(parts) <= len(base) || len(orig) != len(parts) || strings.Join(parts[:len(base)], `\`) != strings.Join(base, `\`) {
			continue
		}
		name := orig[len(base)]
		if !seen[strings.ToLower(name)] {
			seen[strings.ToLower(name)] = true
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// CanonicalKey folds the spellings of one key to one form: HKLM and
// HKEY_LOCAL_MACHINE alike, ControlSet00N (offline exports) as
// CurrentControlSet, case-insensitive.
func CanonicalKey(k string) string {
	k = strings.Trim(strings.TrimSpace(k), `\`)
	parts := strings.Split(k, `\`)
	switch strings.ToUpper(parts[0]) {
	case "HKLM":
		parts[0] = "HKEY_LOCAL_MACHINE"
	case "HKCU":
		parts[0] = "HKEY_CURRENT_USER"
	}
	if len(parts) > 2 && strings.EqualFold(parts[1], "SYSTEM") && isControlSet(parts[2]) {
		parts[2] = "CurrentControlSet"
	}
	return strings.ToLower(strings.Join(parts, `\`))
}

func isControlSet(s string) bool {
	s = strings.ToLower(s)
	if !strings.HasPrefix(s, "controlset") || len(s) != len("controlset001") {
		return false
	}
	_, err := strconv.Atoi(s[len("controlset"):])
	return err == nil
}

type parser struct {
	f    *RegFile
	name string
	v4   bool // REGEDIT4: hex(2)/hex(7) strings are 8-bit
	key  *regKey
	del  bool // inside a [-KEY] section
}

func (p *parser) run(lr *lineReader) error {
	line := 0
	for {
		l, err := lr.next()
		if err == io.EOF {
			return nil
		}
		line++
		if err != nil {
			return fmt.Errorf("%s:%d: %w", p.name, line, err)
		}
		start := line
		// A value may continue over several lines, each ending in '\'
		// (joined in one buffer: appending to a string copied it all at
		// every line).
		if strings.HasSuffix(l, `\`) && isHexLine(l) {
			joined := []byte(l)
			for bytes.HasSuffix(joined, []byte(`\`)) {
				more, err := lr.next()
				if err == io.EOF {
					break
				}
				line++
				if err != nil {
					return fmt.Errorf("%s:%d: %w", p.name, line, err)
				}
				joined = append(joined[:len(joined)-1], strings.TrimSpace(more)...)
				if len(joined) > MaxRegLine {
					return fmt.Errorf("%s:%d: a value continued over lines %d-%d is longer than %d bytes (MaxRegLine)", p.name, start, start, line, MaxRegLine)
				}
			}
			l = string(joined)
		}
		if err := p.line(l); err != nil {
			return fmt.Errorf("%s:%d: %w", p.name, start, err)
		}
	}
}

// isHexLine tells a hex continuation from a string value that happens to
// end in a backslash ("C:\\").
func isHexLine(l string) bool {
	eq := strings.Index(l, "=hex")
	if eq < 0 {
		t := strings.TrimSpace(l)
		return len(t) > 0 && t[0] != '"' && t[0] != '@' && t[0] != '['
	}
	return true
}

func (p *parser) line(l string) error {
	t := strings.TrimSpace(l)
	switch {
	case t == "", strings.HasPrefix(t, ";"), strings.HasPrefix(t, "Windows Registry Editor"),
		strings.HasPrefix(t, "\ufeffWindows Registry Editor"), t == "REGEDIT4":
		return nil
	case strings.HasPrefix(t, "["):
		return p.section(t)
	case strings.HasPrefix(t, `"`), strings.HasPrefix(t, "@"):
		return p.value(t)
	}
	return fmt.Errorf("unexpected line %q", clip(t))
}

func (p *parser) section(t string) error {
	end := strings.LastIndexByte(t, ']')
	if end < 0 {
		return fmt.Errorf("key line without ']': %q", clip(t))
	}
	path := t[1:end]
	if strings.HasPrefix(path, "-") {
		p.deleteTree(path[1:])
		p.key, p.del = nil, true
		return nil
	}
	c := CanonicalKey(path)
	k, ok := p.f.keys[c]
	if !ok {
		k = &regKey{path: strings.Trim(path, `\`), values: map[string]Value{}}
		p.f.keys[c] = k
	}
	p.key, p.del = k, false
	return nil
}

func (p *parser) deleteTree(path string) {
	c := CanonicalKey(path)
	for k := range p.f.keys {
		if k == c || strings.HasPrefix(k, c+`\`) {
			delete(p.f.keys, k)
		}
	}
}

func (p *parser) value(t string) error {
	name, rest, err := splitName(t)
	if err != nil {
		return err
	}
	if p.del {
		return nil
	}
	if p.key == nil {
		return fmt.Errorf("value %q before any [KEY] line", name)
	}
	if rest == "-" {
		delete(p.key.values, strings.ToLower(name))
		return nil
	}
	v, err := p.data(rest)
	if err != nil {
		return fmt.Errorf("value %q: %w", name, err)
	}
	p.key.values[strings.ToLower(name)] = v
	return nil
}

// splitName splits `"name"=data` or `@=data`.
func splitName(t string) (string, string, error) {
	if strings.HasPrefix(t, "@") {
		rest := strings.TrimSpace(t[1:])
		if !strings.HasPrefix(rest, "=") {
			return "", "", fmt.Errorf("expected '=' after @")
		}
		return "", strings.TrimSpace(rest[1:]), nil
	}
	name, n, err := quoted(t)
	if err != nil {
		return "", "", err
	}
	rest := strings.TrimSpace(t[n:])
	if !strings.HasPrefix(rest, "=") {
		return "", "", fmt.Errorf("expected '=' after value name %q", name)
	}
	return name, strings.TrimSpace(rest[1:]), nil
}

// quoted reads a "…" string with regedit's \\ and \" escapes and returns it
// and the number of bytes consumed.
func quoted(t string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(t); i++ {
		switch c := t[i]; c {
		case '\\':
			if i+1 < len(t) {
				i++
				b.WriteByte(t[i])
			}
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string %q", clip(t))
}

func (p *parser) data(rest string) (Value, error) {
	switch {
	case strings.HasPrefix(rest, `"`):
		s, n, err := quoted(rest)
		if err != nil {
			return Value{}, err
		}
		if tail := strings.TrimSpace(rest[n:]); tail != "" && !strings.HasPrefix(tail, ";") {
			return Value{}, fmt.Errorf("text after string: %q", clip(tail))
		}
		return Value{Type: TypeSZ, Data: encodeUTF16(s + "\x00")}, nil
	case strings.HasPrefix(strings.ToLower(rest), "dword:"):
		n, err := strconv.ParseUint(strings.TrimSpace(rest[len("dword:"):]), 16, 32)
		if err != nil {
			return Value{}, fmt.Errorf("bad dword %q", clip(rest))
		}
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(n))
		return Value{Type: TypeDWORD, Data: b}, nil
	case strings.HasPrefix(strings.ToLower(rest), "hex"):
		return p.hex(rest)
	}
	return Value{}, fmt.Errorf("unknown value data %q", clip(rest))
}

// hex reads hex:…, hex(N):… (N in hex, as regedit writes hex(7), hex(b)).
func (p *parser) hex(rest string) (Value, error) {
	typ := TypeBinary
	body := rest[3:]
	if strings.HasPrefix(body, "(") {
		end := strings.IndexByte(body, ')')
		if end < 0 {
			return Value{}, fmt.Errorf("bad hex type %q", clip(rest))
		}
		n, err := strconv.ParseUint(body[1:end], 16, 32)
		if err != nil {
			return Value{}, fmt.Errorf("bad hex type %q", clip(rest))
		}
		typ, body = int(n), body[end+1:]
	}
	if !strings.HasPrefix(body, ":") {
		return Value{}, fmt.Errorf("expected ':' in %q", clip(rest))
	}
	data, err := hexBytes(body[1:])
	if err != nil {
		return Value{}, err
	}
	if p.v4 && (typ == TypeExpandSZ || typ == TypeMultiSZ) {
		data = encodeUTF16(string(data))
	}
	return Value{Type: typ, Data: data}, nil
}

func hexBytes(s string) ([]byte, error) {
	var out []byte
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if i := strings.IndexByte(f, ';'); i >= 0 {
			f = strings.TrimSpace(f[:i])
		}
		n, err := strconv.ParseUint(f, 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad hex byte %q", clip(f))
		}
		out = append(out, byte(n))
	}
	return out, nil
}

// decodeText turns the raw export into a Go string: UTF-16LE/BE with a
// BOM, UTF-16LE without one (zero high bytes), else UTF-8/ANSI as is.
func decodeText(raw []byte) string {
	switch {
	case bytes.HasPrefix(raw, []byte{0xFF, 0xFE}):
		return decodeUTF16(raw[2:])
	case bytes.HasPrefix(raw, []byte{0xFE, 0xFF}):
		u := make([]uint16, len(raw[2:])/2)
		for i := range u {
			u[i] = binary.BigEndian.Uint16(raw[2+2*i:])
		}
		return string(utf16.Decode(u))
	case len(raw) >= 4 && raw[1] == 0 && raw[3] == 0 && raw[0] != 0:
		return decodeUTF16(raw)
	case bytes.HasPrefix(raw, []byte{0xEF, 0xBB, 0xBF}):
		return string(raw[3:])
	}
	return string(raw)
}

// lineReader reads an export line by line in its encoding (as decodeText
// tells it from the first bytes), as UTF-8 without the line end, refusing
// a line over MaxRegLine or a file over MaxRegFileSize.
type lineReader struct {
	br    *bufio.Reader
	lim   *io.LimitedReader
	utf16 int // 0: 8-bit, 1: UTF-16LE, 2: UTF-16BE
	buf   []byte
}

func newLineReader(r io.Reader) *lineReader {
	lim := &io.LimitedReader{R: r, N: MaxRegFileSize + 1}
	return &lineReader{br: bufio.NewReaderSize(lim, 64<<10), lim: lim}
}

// start chooses the encoding from head and skips a byte order mark.
func (lr *lineReader) start(head []byte) {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		lr.utf16 = 1
		lr.br.Discard(2)
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		lr.utf16 = 2
		lr.br.Discard(2)
	case len(head) >= 4 && head[1] == 0 && head[3] == 0 && head[0] != 0:
		lr.utf16 = 1
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		lr.br.Discard(3)
	}
}

func (lr *lineReader) tooLarge() error {
	if lr.lim.N <= 0 {
		return fmt.Errorf("larger than %d bytes (MaxRegFileSize); export only the licensing keys", MaxRegFileSize)
	}
	return nil
}

var errLongLine = fmt.Errorf("line longer than %d bytes (MaxRegLine)", MaxRegLine)

// next returns the next line; io.EOF after the last.
func (lr *lineReader) next() (string, error) {
	lr.buf = lr.buf[:0]
	var err error
	if lr.utf16 == 0 {
		err = lr.bytesLine()
	} else {
		err = lr.utf16Line()
	}
	if e := lr.tooLarge(); e != nil {
		return "", e
	}
	if err == io.EOF && len(lr.buf) > 0 {
		err = nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(lr.buf), "\r"), nil
}

func (lr *lineReader) bytesLine() error {
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > MaxRegLine {
			return errLongLine
		}
		lr.buf = append(lr.buf, chunk...)
		switch err {
		case nil:
			lr.buf = lr.buf[:len(lr.buf)-1]
			return nil
		case bufio.ErrBufferFull:
			continue
		}
		return err
	}
}

func (lr *lineReader) utf16Line() error {
	var b [2]byte
	for {
		if _, err := io.ReadFull(lr.br, b[:]); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF // an odd last byte is dropped, as decodeUTF16 does
			}
			return err
		}
		u := binary.LittleEndian.Uint16(b[:])
		if lr.utf16 == 2 {
			u = binary.BigEndian.Uint16(b[:])
		}
		if u == '\n' {
			return nil
		}
		r := rune(u)
		if utf16.IsSurrogate(r) {
			var lo [2]byte
			if p, err := lr.br.Peek(2); err == nil {
				lo[0], lo[1] = p[0], p[1]
				l := binary.LittleEndian.Uint16(lo[:])
				if lr.utf16 == 2 {
					l = binary.BigEndian.Uint16(lo[:])
				}
				if d := utf16.DecodeRune(r, rune(l)); d != utf8.RuneError {
					lr.br.Discard(2)
					r = d
				} else {
					r = utf8.RuneError
				}
			} else {
				r = utf8.RuneError
			}
		}
		if len(lr.buf)+utf8.RuneLen(r) > MaxRegLine {
			return errLongLine
		}
		lr.buf = utf8.AppendRune(lr.buf, r)
	}
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func encodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
