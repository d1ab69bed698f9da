package writer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/readback"
)

var base = time.Date(2024, 3, 1, 10, 0, 0, 123456700, time.UTC)

// valueCase is one substitution value and which external readers can
// render it; "skip" names the documented defect of the reader that cannot.
type valueCase struct {
	name     string
	v        writer.Value
	noLib    string // why libevtx 20181227 cannot be checked on this value
	noPython string // why python-evtx 0.6.1 cannot be checked on this value
}

const (
	libSigned     = "libevtx renders negative signed integers wrongly (reads them unsigned)"
	libSIDArray   = "libevtx does not support SID arrays (0x93)"
	libSizeTArray = "libevtx fails on size_t arrays (0x90): 'unable to read fragment header'"
	libBoolArray  = "libevtx fails on bool arrays (0x8d): 'unable to read fragment header'"
	pyArray       = "python-evtx supports only string arrays"
)

func valueCases() []valueCase {
	g := "{c76baa63-ae81-421c-b425-340b4b24157f}"
	return []valueCase{
		{name: "string", v: writer.String("héllo <&> \"RDSH01\"")},
		{name: "empty-string", v: writer.String("")},
		{name: "ansi", v: writer.AnsiString("ansi text")},
		{name: "int8", v: writer.Int8(100)},
		{name: "int8-neg", v: writer.Int8(-5), noLib: libSigned},
		{name: "uint8", v: writer.Uint8(250)},
		{name: "int16", v: writer.Int16(-300), noLib: libSigned},
		{name: "uint16", v: writer.Uint16(60000)},
		{name: "int32", v: writer.Int32(-70000), noLib: libSigned},
		{name: "int32-pos", v: writer.Int32(70000)},
		{name: "uint32", v: writer.Uint32(4000000000)},
		{name: "int64", v: writer.Int64(-5000000000), noLib: libSigned},
		{name: "int64-pos", v: writer.Int64(5000000000)},
		{name: "uint64", v: writer.Uint64(18000000000000000000)},
		{name: "real32", v: writer.Real32(1.5)},
		{name: "real64", v: writer.Real64(-2.25e10)},
		{name: "bool-true", v: writer.Bool(true)},
		{name: "bool-false", v: writer.Bool(false)},
		{name: "binary", v: writer.Binary([]byte{1, 0xab, 0, 0xff})},
		{name: "guid", v: writer.GUID(g)},
		{name: "size_t", v: writer.SizeT(4096)},
		{name: "filetime", v: writer.FileTime(base)},
		{name: "systemtime", v: writer.SysTime(base)},
		{name: "sid", v: writer.SID("S-1-5-21-1004336348-1177238915-682003330-512")},
		{name: "hex32", v: writer.Hex32(0x1a)},
		{name: "hex64", v: writer.Hex64(0x8000000000000000)},
		{name: "binxml", v: writer.BinXml(writer.Element{Name: "Foo", Attrs: []writer.Attr{{Name: "a", Value: "1"}},
			Children: []writer.Element{{Name: "Bar", Text: "baz"}}})},
		{name: "string-array", v: writer.ArrayOf(writer.TypeString, writer.String("x"), writer.String(""), writer.String("z"))},
		{name: "ansi-array", v: writer.ArrayOf(writer.TypeAnsiString, writer.AnsiString("a"), writer.AnsiString("b")), noPython: pyArray},
		{name: "uint8-array", v: writer.ArrayOf(writer.TypeUint8, writer.Uint8(1), writer.Uint8(2)), noPython: pyArray},
		{name: "int16-array", v: writer.ArrayOf(writer.TypeInt16, writer.Int16(7), writer.Int16(8)), noPython: pyArray},
		{name: "uint32-array", v: writer.ArrayOf(writer.TypeUint32, writer.Uint32(1), writer.Uint32(4000000000)), noPython: pyArray},
		{name: "int64-array", v: writer.ArrayOf(writer.TypeInt64, writer.Int64(1), writer.Int64(2)), noPython: pyArray},
		{name: "real64-array", v: writer.ArrayOf(writer.TypeReal64, writer.Real64(0.5), writer.Real64(2)), noPython: pyArray},
		{name: "guid-array", v: writer.ArrayOf(writer.TypeGUID, writer.GUID(g), writer.GUID(g)), noPython: pyArray},
		{name: "filetime-array", v: writer.ArrayOf(writer.TypeFileTime, writer.FileTime(base)), noPython: pyArray},
		{name: "hex64-array", v: writer.ArrayOf(writer.TypeHex64, writer.Hex64(3), writer.Hex64(4)), noPython: pyArray},
		{name: "int8-array", v: writer.ArrayOf(writer.TypeInt8, writer.Int8(3), writer.Int8(4)), noPython: pyArray},
		{name: "uint16-array", v: writer.ArrayOf(writer.TypeUint16, writer.Uint16(3), writer.Uint16(65535)), noPython: pyArray},
		{name: "int32-array", v: writer.ArrayOf(writer.TypeInt32, writer.Int32(3), writer.Int32(70000)), noPython: pyArray},
		{name: "uint64-array", v: writer.ArrayOf(writer.TypeUint64, writer.Uint64(3), writer.Uint64(1<<60)), noPython: pyArray},
		{name: "real32-array", v: writer.ArrayOf(writer.TypeReal32, writer.Real32(0.25), writer.Real32(8)), noPython: pyArray},
		{name: "bool-array", v: writer.ArrayOf(writer.TypeBool, writer.Bool(true), writer.Bool(false)), noPython: pyArray, noLib: libBoolArray},
		{name: "size_t-array", v: writer.ArrayOf(writer.TypeSizeT, writer.SizeT(1), writer.SizeT(4096)), noPython: pyArray, noLib: libSizeTArray},
		{name: "systemtime-array", v: writer.ArrayOf(writer.TypeSysTime, writer.SysTime(base)), noPython: pyArray},
		{name: "hex32-array", v: writer.ArrayOf(writer.TypeHex32, writer.Hex32(1), writer.Hex32(0xff)), noPython: pyArray},
		{name: "sid-array", v: writer.ArrayOf(writer.TypeSID, writer.SID("S-1-5-18")), noPython: pyArray, noLib: libSIDArray},
	}
}

func rec(id uint16, p writer.Payload) writer.Record {
	return writer.Record{
		Provider:     "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
		ProviderGUID: "{c76baa63-ae81-421c-b425-340b4b24157f}", EventID: id, Level: 3,
		Keywords: 0x1000000000000000, TimeCreated: base, ProcessID: 1044, ThreadID: 2210,
		Channel: "System", Computer: "RDSH01.contoso.local", UserSID: "S-1-5-18", Payload: p,
	}
}

func writeFile(t *testing.T, recs []writer.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.evtx")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := writer.New(f)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestValueTypesExternal writes one record per value type and checks that
// libevtx and python-evtx read each value back.
func TestValueTypesExternal(t *testing.T) {
	for _, tool := range []readback.Tool{readback.Libevtx, readback.PythonEvtx} {
		t.Run(tool.Name, func(t *testing.T) {
			if !tool.Available() {
				t.Skipf("%s is not installed (Debian libevtx-utils / python3-evtx)", tool.Name)
			}
			var cases []valueCase
			for _, c := range valueCases() {
				if (tool.Name == readback.Libevtx.Name && c.noLib == "") || (tool.Name == readback.PythonEvtx.Name && c.noPython == "") {
					cases = append(cases, c)
				}
			}
			var recs []writer.Record
			for i, c := range cases {
				recs = append(recs, rec(uint16(i+1), writer.NamedData("v", c.v)))
			}
			got, err := tool.Read(writeFile(t, recs))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(cases) {
				t.Fatalf("%d records read, %d written", len(got), len(cases))
			}
			for i, c := range cases {
				if err := sameValue(c.v, got[i].Params, tool.Name == readback.PythonEvtx.Name); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
		})
	}
}

// sameValue compares what a tool printed with what was written, allowing
// only each tool's rendering conventions.
func sameValue(v writer.Value, got []string, python bool) error {
	want := v.Texts()
	if len(got) != len(want) {
		return fmt.Errorf("got %d values %q, want %d %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !sameText(v.Type&^writer.ArrayFlag, want[i], got[i], python) {
			return fmt.Errorf("got %q, want %q", got[i], want[i])
		}
	}
	return nil
}

func sameText(t writer.ValueType, want, got string, python bool) bool {
	switch t {
	case writer.TypeReal32, writer.TypeReal64, writer.TypeSizeT, writer.TypeHex32, writer.TypeHex64:
		return number(want) == number(got)
	case writer.TypeBool, writer.TypeGUID:
		return strings.EqualFold(want, got)
	case writer.TypeBinary:
		if python {
			b, _ := base64.StdEncoding.DecodeString(got)
			got = fmt.Sprintf("%X", b)
		}
		return want == got
	case writer.TypeFileTime, writer.TypeSysTime:
		return sameTime(t, want, got, python)
	case writer.TypeBinXml:
		return got == `<Foo a="1"><Bar>baz</Bar></Foo>`
	}
	return want == got
}

func number(s string) float64 {
	if strings.HasPrefix(s, "0x") {
		n, _ := strconv.ParseUint(s[2:], 16, 64)
		return float64(n)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// sameTime allows python-evtx's float-based FILETIME rounding (a few µs)
// and its SYSTEMTIME defect (milliseconds printed as microseconds).
func sameTime(t writer.ValueType, want, got string, python bool) bool {
	w, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		return false
	}
	if !python {
		g, err := time.Parse(time.RFC3339Nano, got)
		return err == nil && g.Equal(w)
	}
	g, err := time.Parse("2006-01-02 15:04:05.999999", got)
	if err != nil {
		return false
	}
	if t == writer.TypeSysTime {
		return g.Truncate(time.Second).Equal(w.Truncate(time.Second)) &&
			g.Nanosecond()/1000 == w.Nanosecond()/1e6
	}
	d := g.Sub(w)
	return d < 10*time.Microsecond && d > -10*time.Microsecond
}

// shapeCases are the payload shapes tsdiag's scenarios use.
func shapeCases() []writer.Record {
	classic := writer.Record{Provider: "TermService", EventID: 1009, Level: 2, TimeCreated: base,
		Keywords: 0x80000000000000, Channel: "System", Computer: "TS2003",
		Payload: writer.ClassicData("3/15/2024", "", "third")}
	withBinary := classic
	withBinary.Payload.Binary = []byte{0xde, 0xad}
	scm := writer.Record{Provider: "Service Control Manager", ProviderGUID: "{555908d1-a6d7-4695-8e1e-26931d2012f4}",
		EventSourceName: "Service Control Manager", EventID: 7036, Qualifiers: 16384, Level: 4, TimeCreated: base,
		Channel: "System", Computer: "LS01", Payload: writer.NamedData("param1", writer.String("Remote Desktop Licensing"), "param2", writer.String("stopped"))}
	rcmLegacy := rec(1128, writer.UnnamedData(writer.String("LS01"), writer.String("")))
	rcmLegacy.Qualifiers = 49152
	rcmLegacy.EventSourceName = "TermService"
	return []writer.Record{
		classic, withBinary, scm, rcmLegacy,
		rec(50281, writer.EventXML(writer.String("4/1/2024"))),
		rec(1149, writer.EventXML(writer.String("alice"), writer.String("CONTOSO"), writer.String("10.0.0.5"))),
		rec(1128, writer.EventXML()),
		rec(1068, writer.Payload{}),
		{Provider: "TermService", EventID: 1008, TimeCreated: base, Channel: "System", Computer: "TS2003", Payload: writer.ClassicData()},
	}
}

func TestShapesExternal(t *testing.T) {
	recs := shapeCases()
	path := writeFile(t, recs)
	for _, tool := range []readback.Tool{readback.Libevtx, readback.PythonEvtx} {
		t.Run(tool.Name, func(t *testing.T) {
			if !tool.Available() {
				t.Skipf("%s is not installed (Debian libevtx-utils / python3-evtx)", tool.Name)
			}
			got, err := tool.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			CompareExternal(t, recs, got)
		})
	}
}

// CompareExternal checks that a tool's records match what was written.
func CompareExternal(t *testing.T, want []writer.Record, got []readback.Record) {
	t.Helper()
	for _, msg := range readback.Compare(want, got, 10) {
		t.Error(msg)
	}
}

// TestSpillAcrossChunks writes enough records for many chunks and checks
// the file header, every chunk header and both checksums, then the count
// seen by the external readers.
func TestSpillAcrossChunks(t *testing.T) {
	var recs []writer.Record
	for i := 0; i < 400; i++ {
		r := shapeCases()[i%len(shapeCases())]
		r.TimeCreated = base.Add(time.Duration(i) * time.Second)
		if i%2 == 0 { // big records fill chunks quickly; python-evtx is slow per record
			r.Payload = writer.NamedData("blob", writer.String(strings.Repeat("ABCDEFGH", 60+i%7)))
		}
		recs = append(recs, r)
	}
	path := writeFile(t, recs)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	chunks := checkLayout(t, b, len(recs))
	if chunks < 3 {
		t.Fatalf("only %d chunks for %d records; spill not exercised", chunks, len(recs))
	}
	for _, tool := range []readback.Tool{readback.Libevtx, readback.PythonEvtx} {
		if !tool.Available() {
			t.Logf("skipping %s: not installed", tool.Name)
			continue
		}
		got, err := tool.Read(path)
		if err != nil {
			t.Fatal(err)
		}
		CompareExternal(t, recs, got)
	}
}

func checkLayout(t *testing.T, b []byte, records int) int {
	t.Helper()
	le := binary.LittleEndian
	if string(b[:8]) != "ElfFile\x00" || le.Uint32(b[124:]) != crc32.ChecksumIEEE(b[:120]) {
		t.Fatal("bad file header magic or checksum")
	}
	n := int(le.Uint16(b[42:]))
	if (len(b)-4096)/65536 != n || le.Uint64(b[16:]) != uint64(n-1) || le.Uint64(b[24:]) != uint64(records+1) {
		t.Fatalf("file header: %d chunks, last %d, next record %d; file has %d chunks for %d records",
			n, le.Uint64(b[16:]), le.Uint64(b[24:]), (len(b)-4096)/65536, records)
	}
	next := uint64(1)
	for i := 0; i < n; i++ {
		c := b[4096+i*65536 : 4096+(i+1)*65536]
		crc := crc32.NewIEEE()
		crc.Write(c[:120])
		crc.Write(c[128:512])
		free := le.Uint32(c[48:])
		if free >= 65536 {
			t.Fatalf("chunk %d filled to the last byte (libevtx then drops its last record)", i)
		}
		if string(c[:8]) != "ElfChnk\x00" || le.Uint32(c[124:]) != crc.Sum32() ||
			le.Uint32(c[52:]) != crc32.ChecksumIEEE(c[512:free]) {
			t.Fatalf("chunk %d: bad magic or checksum", i)
		}
		if le.Uint64(c[24:]) != next || !bytes.Equal(c[free:], make([]byte, 65536-int(free))) {
			t.Fatalf("chunk %d: first record %d, want %d, or junk after free space", i, le.Uint64(c[24:]), next)
		}
		next = le.Uint64(c[32:]) + 1
	}
	return n
}

// TestChunkNeverFull sweeps record sizes so that some record would end
// exactly at the end of a chunk.
func TestChunkNeverFull(t *testing.T) {
	for l := 400; l < 800; l += 2 {
		var recs []writer.Record
		for i := 0; i < 45; i++ {
			recs = append(recs, rec(1, writer.NamedData("b", writer.String(strings.Repeat("x", 500)))))
		}
		recs = append(recs, rec(1, writer.NamedData("b", writer.String(strings.Repeat("y", l)))), rec(2, writer.Payload{}))
		b, err := os.ReadFile(writeFile(t, recs))
		if err != nil {
			t.Fatal(err)
		}
		checkLayout(t, b, len(recs))
	}
}

// TestWriterToPlainWriter checks the in-memory path (no Seek) writes the
// same bytes as the streaming path.
func TestWriterToPlainWriter(t *testing.T) {
	path := writeFile(t, shapeCases())
	want, _ := os.ReadFile(path)
	var buf bytes.Buffer
	w := writer.New(struct{ *bytes.Buffer }{&buf})
	for _, r := range shapeCases() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("buffered and streamed output differ")
	}
}

func TestWriteErrors(t *testing.T) {
	bad := []writer.Record{
		rec(1, writer.NamedData("v", writer.GUID("not-a-guid"))),
		rec(1, writer.NamedData("v", writer.SID("X-1"))),
		rec(1, writer.NamedData("v", writer.ArrayOf(writer.TypeUint8, writer.String("x")))),
		rec(1, writer.NamedData("v", writer.ArrayOf(writer.TypeBinary, writer.Binary([]byte{1})))),
		rec(1, writer.Payload{Shape: writer.Named, Names: []string{"a"}}),
		rec(1, writer.Payload{Shape: writer.Classic, Values: []writer.Value{writer.Uint8(1)}}),
		rec(1, writer.NamedData("v", writer.String(strings.Repeat("x", 70000)))),
	}
	for i, r := range bad {
		w := writer.New(&bytes.Buffer{})
		if err := w.Write(r); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	_ = math.Pi
}
