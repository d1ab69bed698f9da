package evtx

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// bx writes raw BinXml (MS-EVEN6 2.2.12) without templates, the shape some
// forwarded and exported logs carry, to test every token on real bytes.
type bx struct {
	b    []byte
	base int // chunk offset of b[0]
}

func (x *bx) u8(v byte)    { x.b = append(x.b, v) }
func (x *bx) u16(v uint16) { x.b = binary.LittleEndian.AppendUint16(x.b, v) }
func (x *bx) u32(v uint32) { x.b = binary.LittleEndian.AppendUint32(x.b, v) }
func (x *bx) str(s string) {
	for _, u := range utf16.Encode([]rune(s)) {
		x.u16(u)
	}
}

// name writes an inline name reference: the offset points right past it.
func (x *bx) name(s string) {
	x.u32(uint32(x.base + len(x.b) + 4))
	x.u32(0)
	x.u16(0)
	x.u16(uint16(len(s)))
	x.str(s)
	x.u16(0)
}

func (x *bx) open(name string, attrs ...[2]string) {
	tok := byte(format.TokOpenStart)
	if len(attrs) > 0 {
		tok |= format.MoreFlag
	}
	x.u8(tok)
	x.u16(format.NoDependency)
	x.u32(0) // data size (not used by readers)
	x.name(name)
	if len(attrs) > 0 {
		x.u32(0) // attribute list size
		for i, a := range attrs {
			t := byte(format.TokAttribute)
			if i < len(attrs)-1 {
				t |= format.MoreFlag
			}
			x.u8(t)
			x.name(a[0])
			x.text(a[1])
		}
	}
	x.u8(format.TokCloseStart)
}

func (x *bx) text(s string) {
	x.u8(format.TokValue)
	x.u8(format.TypeString)
	x.u16(uint16(len([]rune(s))))
	x.str(s)
}

func (x *bx) end() { x.u8(format.TokEndElement) }

func (x *bx) leaf(name, text string, attrs ...[2]string) {
	x.open(name, attrs...)
	x.text(text)
	x.end()
}

// chunkWith places one record holding body at offset 512 of a fresh chunk.
func chunkWith(build func(x *bx)) []byte {
	c := make([]byte, format.ChunkSize)
	copy(c, format.ChunkMagic)
	x := &bx{base: format.ChunkHeaderSize + format.RecordHeaderSize}
	x.u8(format.TokFragmentHeader)
	x.u8(1)
	x.u8(1)
	x.u8(0)
	build(x)
	x.u8(format.TokEOF)
	size := format.RecordHeaderSize + len(x.b) + 4
	size += (8 - size%8) % 8
	r := c[format.ChunkHeaderSize:]
	copy(r, format.RecordMagic)
	binary.LittleEndian.PutUint32(r[4:], uint32(size))
	binary.LittleEndian.PutUint64(r[8:], 77)
	binary.LittleEndian.PutUint64(r[16:], 132000000000000000)
	copy(r[format.RecordHeaderSize:], x.b)
	binary.LittleEndian.PutUint32(r[size-4:], uint32(size))
	free := format.ChunkHeaderSize + size
	binary.LittleEndian.PutUint64(c[8:], 77)
	binary.LittleEndian.PutUint64(c[16:], 77)
	binary.LittleEndian.PutUint32(c[40:], 128)
	binary.LittleEndian.PutUint32(c[44:], format.ChunkHeaderSize)
	binary.LittleEndian.PutUint32(c[48:], uint32(free))
	binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[format.ChunkHeaderSize:free]))
	h := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:format.ChunkHeaderSize])
	binary.LittleEndian.PutUint32(c[124:], h)
	return c
}

func fileWith(chunks ...[]byte) []byte {
	h := make([]byte, format.FileHeaderSize)
	copy(h, format.FileMagic)
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1)
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], format.FileHeaderSize)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	for _, c := range chunks {
		h = append(h, c...)
	}
	return h
}

func TestRecordWithoutTemplateAllTokens(t *testing.T) {
	c := chunkWith(func(x *bx) {
		x.open("Event", [2]string{"xmlns", eventNS})
		x.open("System")
		x.open("Provider", [2]string{"Name", "Fwd"}, [2]string{"Guid", "{00000000-0000-0000-0000-000000000001}"})
		x.end()
		x.leaf("EventID", "4711", [2]string{"Qualifiers", "16384"})
		x.open("Computer")
		x.text("A")
		x.u8(format.TokEntityRef)
		x.name("amp")
		x.text("B")
		x.end()
		x.open("TimeCreated", [2]string{"SystemTime", "2020-01-02T03:04:05.1234567Z"})
		x.end()
		x.end() // System
		x.open("EventData")
		x.open("Data", [2]string{"Name", "x"})
		x.u8(format.TokCDATA)
		x.u16(9)
		x.str("raw<text>")
		x.end()
		x.open("Data")
		x.u8(format.TokCharRef)
		x.u16('A')
		x.end()
		x.open("Data")
		x.end()
		x.end() // EventData
		x.u8(format.TokPITarget)
		x.name("pi")
		x.u8(format.TokPIData)
		x.u16(4)
		x.str("data")
		x.end() // Event
	})
	var evs []*Event
	st, err := Decode(bytes.NewReader(fileWith(c)), "raw.evtx", Options{KeepTree: true}, func(e *Event) error {
		evs = append(evs, e)
		return nil
	})
	if err != nil || len(evs) != 1 || len(st.Damages) != 0 {
		t.Fatalf("err %v, %d events, damages %v", err, len(evs), st.Damages)
	}
	ev := evs[0]
	if ev.Provider != "Fwd" || ev.EventID != 4711 || ev.Qualifiers != 16384 || ev.Computer != "A&B" || ev.RecordID != 77 {
		t.Fatalf("%+v", ev)
	}
	if ev.TimeCreated.Nanosecond() != 123456700 || ev.Data["x"] != "raw<text>" ||
		strings.Join(ev.Params, "|") != "raw<text>|A|" {
		t.Fatalf("time %v data %v params %q", ev.TimeCreated, ev.Data, ev.Params)
	}
	x := ev.XML()
	for _, want := range []string{"<Computer>A&amp;B</Computer>", "<Data Name='x'>raw&lt;text&gt;</Data>", "<Data>A</Data>", "<?pi data?>"} {
		if !strings.Contains(x, want) {
			t.Errorf("XML lacks %q:\n%s", want, x)
		}
	}
	// The filter works on records without templates too (after building).
	st, _ = Decode(bytes.NewReader(fileWith(c)), "raw.evtx", Options{Filter: func(p string, id uint16) bool {
		return p == "Fwd" && id == 4711
	}}, func(*Event) error { return nil })
	if st.Records != 1 || st.Matched != 1 {
		t.Fatalf("filter: %+v", st)
	}
}

// TestChunksBeyondHeaderCount: dirty files hold more chunks than their
// header counts; every chunk is still read.
func TestChunksBeyondHeaderCount(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(corpusDir(t), "system.evtx"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := decodeBounded(t, "system.evtx", b, time.Minute)
	b = append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(b[42:], 1)
	binary.LittleEndian.PutUint32(b[124:], crc32.ChecksumIEEE(b[:120]))
	got, st, _ := decodeBounded(t, "dirty", b, time.Minute)
	if len(got) != len(want) || st.DamagedChunks != 0 {
		t.Fatalf("%d events with header count 1, want %d; %+v", len(got), len(want), st)
	}
}
