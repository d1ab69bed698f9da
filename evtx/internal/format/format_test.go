package format

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestNoSecondDefinition fails when a file of the module declares one of
// this package's constants again: a signature spelled out, a file header
// or chunk size under its own name, a BinXml token or value-type table.
// Two copies can drift apart, and then the writer and the decoder would
// disagree about a file while both pass their own tests.
func TestNoSecondDefinition(t *testing.T) {
	root := moduleRoot(t)
	d := newDetector(t)
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			name := e.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || path == self) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		rel, _ := filepath.Rel(root, path)
		for _, p := range d.checkFile(t, path) {
			t.Errorf("%s:%s", rel, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The walk must have seen the decoder, the writer and the rest, or a
	// pass would mean nothing.
	if files < 50 {
		t.Fatalf("walked only %d .go files under %s", files, root)
	}
}

// TestDetector holds the detector to the duplicates this package replaced
// and to look-alikes that must pass: other 4096s, other "type" constants.
func TestDetector(t *testing.T) {
	d := newDetector(t)
	const dup = `package p
const (
	fileHeaderSize  = 4096
	chunkSize       = 0x10000
	chunkHeaderSize = 512
	recordHeader    = 24
)
var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte{0x2a, 0x2a, 0x00, 0x00}
)
const (
	tokEOF       = 0x00
	tokOpenStart = 0x01
	vtAnsi       = 0x02
	TypeUint16 ValueType = 0x06
	valueTypeString = 0x01
	ArrayFlag ValueType = 0x80
	flagMore = 0x40
	noDependency = 0xffff
)
func f(h []byte) {
	const header, chunk = 4096, 65536
	copy(h, "ElfChnk\x00")
}
`
	got := d.check(t, "dup.go", dup, false)
	want := []string{"fileHeaderSize", "chunkSize", "chunkHeaderSize", "recordHeader",
		"fileMagic", "chunkMagic", "recordMagic", "tokEOF", "tokOpenStart", "vtAnsi",
		"TypeUint16", "valueTypeString", "ArrayFlag", "flagMore", "noDependency", "header", "chunk", `"ElfChnk\x00"`}
	if len(got) != len(want) {
		t.Errorf("found %d duplicates, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		if !anyContains(got, " "+w+" ") {
			t.Errorf("duplicate %s not reported; got:\n%s", w, strings.Join(got, "\n"))
		}
	}

	const fine = `package p
import "example.com/format"
const (
	MaxExprLen   = 4096
	bufSize      = 4096
	slabBlock    = 512
	maxChunks    = 0xffff
	headerSize   = 0x30 // another format's header
	typeError    = 0x0001
	typeWarning  = 0x0002
	TypeString ValueType = format.TypeString
	errNotEVTX = "not an EVTX file (no ElfFile header)"
)
func g(b []byte) bool {
	var chunkBuf [65536]byte
	_ = chunkBuf
	return string(b[:8]) == "ElfFile\x00"
}
`
	if got := d.check(t, "fine_test.go", fine, true); len(got) > 0 {
		t.Errorf("false positives:\n%s", strings.Join(got, "\n"))
	}
	// The same comparison outside a test spells the signature again.
	if got := d.check(t, "fine.go", fine, false); len(got) != 1 || !strings.Contains(got[0], `"ElfFile\x00"`) {
		t.Errorf("signature literal in non-test code: got %q, want one report", got)
	}
}

func anyContains(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l+" ", s) {
			return true
		}
	}
	return false
}

// detector knows this package's constants by type-checking its source, so
// that it follows any constant added here without a list of its own.
type detector struct {
	magics map[string]string // value -> constant name
	tokens map[string]int64  // lower-case name without "tok" -> value
	types  map[string]named  // lower-case name without "type" -> constant
	ints   []named           // every integer constant but the tokens
}

type named struct {
	name  string
	words string // see words
	val   int64
}

func newDetector(t *testing.T) *detector {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "format.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := (&types.Config{}).Check("format", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &detector{magics: map[string]string{}, tokens: map[string]int64{}, types: map[string]named{}}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok {
			continue
		}
		v := c.Val()
		switch {
		case strings.HasSuffix(name, "Magic"):
			s := constant.StringVal(v)
			d.magics[s] = name
			// "ElfFile" without its NUL is as good a copy; "**" is not.
			if short := strings.TrimRight(s, "\x00"); len(short) >= 7 {
				d.magics[short] = name
			}
		case strings.HasPrefix(name, "Tok"):
			n, _ := constant.Int64Val(v)
			d.tokens[strings.ToLower(name[3:])] = n
		default:
			n, _ := constant.Int64Val(v)
			c := named{name, words(name), n}
			d.ints = append(d.ints, c)
			if strings.HasPrefix(name, "Type") {
				d.types[strings.ToLower(name[4:])] = c
			}
		}
	}
	if len(d.magics) < 3 || len(d.tokens) < 10 || len(d.types) < 20 {
		t.Fatalf("read %d signatures, %d tokens, %d value types from format.go", len(d.magics), len(d.tokens), len(d.types))
	}
	return d
}

func (d *detector) checkFile(t *testing.T, path string) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return d.check(t, path, string(src), strings.HasSuffix(path, "_test.go"))
}

// check reports, as "line: name what", every declaration in src that
// repeats one of the constants. Outside tests a signature literal anywhere
// counts too; tests may spell one out to check the bytes independently.
func (d *detector) check(t *testing.T, name, src string, isTest bool) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	report := func(pos token.Pos, what, why string) {
		out = append(out, strconv.Itoa(fset.Position(pos).Line)+": "+what+" "+why)
	}
	declared := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GenDecl:
			if n.Tok != token.CONST && n.Tok != token.VAR {
				return true
			}
			for _, s := range n.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					ast.Inspect(vs.Values[i], func(n ast.Node) bool {
						if l, ok := n.(*ast.BasicLit); ok {
							declared[l] = true
						}
						return true
					})
					if why := d.duplicate(id.Name, n.Tok, vs.Values[i]); why != "" {
						report(id.Pos(), id.Name, why)
					}
				}
			}
		case *ast.BasicLit:
			if isTest || n.Kind != token.STRING || declared[n] {
				return true
			}
			if s, err := strconv.Unquote(n.Value); err == nil && d.magics[s] != "" {
				report(n.Pos(), n.Value, "spells out format."+d.magics[s])
			}
		}
		return true
	})
	return out
}

// duplicate says which constant a declaration repeats, or "".
func (d *detector) duplicate(name string, tok token.Token, v ast.Expr) string {
	if s, ok := byteValue(v); ok && d.magics[s] != "" {
		return "repeats format." + d.magics[s]
	}
	n, ok := intValue(v)
	if !ok {
		return ""
	}
	low := strings.ToLower(name)
	sized := low == "header" || low == "chunk" || strings.HasSuffix(low, "size") || strings.HasSuffix(low, "header")
	switch {
	case sized && strings.Contains(low, "chunk") && strings.Contains(low, "header") && n == ChunkHeaderSize:
		return "repeats format.ChunkHeaderSize"
	case sized && strings.Contains(low, "record") && strings.Contains(low, "header") && n == RecordHeaderSize:
		return "repeats format.RecordHeaderSize"
	case sized && strings.Contains(low, "header") && n == FileHeaderSize:
		return "repeats format.FileHeaderSize"
	case sized && strings.Contains(low, "chunk") && n == ChunkSize:
		return "repeats format.ChunkSize"
	}
	if tok != token.CONST {
		return ""
	}
	// Any other constant under its own words (noDependency, flagMore,
	// ArrayFlag for TypeArray) with its value.
	w := words(name)
	for _, c := range d.ints {
		if c.val == n && c.words == w {
			return "repeats format." + c.name
		}
	}
	// Tokens and value types: a tok* constant, or a vt*/Type* one whose
	// name and value are one of this package's (a shortened name counts:
	// vtAnsi for TypeAnsiString).
	if len(name) > 3 && strings.EqualFold(name[:3], "tok") && isUpper(name[3]) {
		return "is a BinXml token (see format.Tok*)"
	}
	for _, prefix := range []string{"valuetype", "vt", "type"} {
		rest, ok := strings.CutPrefix(low, prefix)
		if !ok || rest == "" || !isUpper(name[len(prefix)]) {
			continue
		}
		for key, c := range d.types {
			if c.val == n && (strings.HasPrefix(key, rest) || strings.HasPrefix(rest, key)) {
				return "repeats the value type format." + c.name
			}
		}
	}
	return ""
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// words splits a camel-case name into its sorted lower-case words, leaving
// out those that only say what kind of constant it is.
func words(name string) string {
	var ws []string
	start := 0
	for i := 1; i <= len(name); i++ {
		if i == len(name) || isUpper(name[i]) && !isUpper(name[i-1]) || name[i] == '_' {
			w := strings.ToLower(strings.Trim(name[start:i], "_"))
			if w != "" && w != "type" && w != "vt" && w != "flag" && w != "value" {
				ws = append(ws, w)
			}
			start = i
		}
	}
	sort.Strings(ws)
	return strings.Join(ws, " ")
}

// byteValue evaluates a string literal, []byte("…") or []byte{…} of
// integer literals.
func byteValue(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.CallExpr:
		if isByteSlice(e.Fun) && len(e.Args) == 1 {
			return byteValue(e.Args[0])
		}
	case *ast.CompositeLit:
		if !isByteSlice(e.Type) {
			return "", false
		}
		b := make([]byte, 0, len(e.Elts))
		for _, el := range e.Elts {
			n, ok := intValue(el)
			if !ok || n < 0 || n > 255 {
				return "", false
			}
			b = append(b, byte(n))
		}
		return string(b), true
	}
	return "", false
}

func isByteSlice(e ast.Expr) bool {
	a, ok := e.(*ast.ArrayType)
	if !ok || a.Len != nil {
		return false
	}
	id, ok := a.Elt.(*ast.Ident)
	return ok && (id.Name == "byte" || id.Name == "uint8")
}

func intValue(e ast.Expr) (int64, bool) {
	l, ok := e.(*ast.BasicLit)
	if !ok || l.Kind != token.INT {
		return 0, false
	}
	return constant.Int64Val(constant.MakeFromLiteral(l.Value, l.Kind, 0))
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the format package")
		}
		dir = parent
	}
}
