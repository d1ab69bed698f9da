package evtx

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx/internal/format"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

// bombLevels is how many times the bomb's template doubles: 2^13 leaves,
// 16383 elements, about half of maxRecordWork per record.
const bombLevels = 13

// tmplDef appends an inline template instance whose definition holds body
// (a BinXml fragment) and no values; it returns the chunk offset of the
// definition, for later references.
func (x *bx) tmplDef(body func(x *bx)) int {
	x.u8(format.TokTemplate)
	x.u8(1)
	x.u32(0)
	def := x.base + len(x.b) + 4
	x.u32(uint32(def))
	x.u32(0) // next template
	x.b = append(x.b, make([]byte, 16)...)
	sizeAt := len(x.b)
	x.u32(0)
	start := len(x.b)
	x.u8(format.TokFragmentHeader)
	x.u8(1)
	x.u8(1)
	x.u8(0)
	body(x)
	x.u8(format.TokEOF)
	binary.LittleEndian.PutUint32(x.b[sizeAt:], uint32(len(x.b)-start))
	x.u32(0) // no values
	return def
}

// tmplRef appends an instance of the template defined at def.
func (x *bx) tmplRef(def int) {
	x.u8(format.TokTemplate)
	x.u8(1)
	x.u32(0)
	x.u32(uint32(def))
	x.u32(0)
}

// bombChunk is a chunk whose first record defines templates T0 = <x/> and
// Tk = <d>Tk-1 Tk-1</d> and an Event (TermService 1128, EventData holding
// T13) — the billion-laughs shape — and whose every further record, 48
// bytes, is one instance of that Event: each expands to 16383 elements.
func bombChunk() []byte {
	c := make([]byte, format.ChunkSize)
	copy(c, format.ChunkMagic)
	off := format.ChunkHeaderSize
	id := uint64(1)
	rec := func(body func(x *bx)) bool {
		x := &bx{base: off + format.RecordHeaderSize}
		x.u8(format.TokFragmentHeader)
		x.u8(1)
		x.u8(1)
		x.u8(0)
		body(x)
		x.u8(format.TokEOF)
		size := format.RecordHeaderSize + len(x.b) + 4
		size += (8 - size%8) % 8
		if off+size > len(c) {
			return false
		}
		r := c[off:]
		copy(r, format.RecordMagic)
		binary.LittleEndian.PutUint32(r[4:], uint32(size))
		binary.LittleEndian.PutUint64(r[8:], id)
		binary.LittleEndian.PutUint64(r[16:], 132000000000000000)
		copy(r[format.RecordHeaderSize:], x.b)
		binary.LittleEndian.PutUint32(r[size-4:], uint32(size))
		off += size
		id++
		return true
	}
	var event int
	rec(func(x *bx) {
		// The definitions are inlined in the first record (building it
		// expands them all, and it may be damage: definitions are cached
		// for the chunk as they are parsed, whatever the build does).
		x.open("Defs")
		prev := x.tmplDef(func(x *bx) { x.open("x"); x.end() })
		for range bombLevels {
			p := prev
			prev = x.tmplDef(func(x *bx) { x.open("d"); x.tmplRef(p); x.tmplRef(p); x.end() })
		}
		top := prev
		x.end()
		event = x.tmplDef(func(x *bx) {
			x.open("Event")
			x.open("System")
			x.open("Provider", [2]string{"Name", "TermService"})
			x.end()
			x.leaf("EventID", "1128")
			x.leaf("Computer", "BOMB")
			x.end()
			x.open("EventData")
			x.tmplRef(top)
			x.end()
			x.end()
		})
	})
	for rec(func(x *bx) { x.tmplRef(event) }) {
	}
	binary.LittleEndian.PutUint64(c[8:], 1)
	binary.LittleEndian.PutUint64(c[16:], id-1)
	binary.LittleEndian.PutUint64(c[24:], 1)
	binary.LittleEndian.PutUint64(c[32:], id-1)
	binary.LittleEndian.PutUint32(c[40:], 128)
	binary.LittleEndian.PutUint32(c[44:], uint32(off))
	binary.LittleEndian.PutUint32(c[48:], uint32(off))
	binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[format.ChunkHeaderSize:off]))
	h := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:format.ChunkHeaderSize])
	binary.LittleEndian.PutUint32(c[124:], h)
	return c
}

// licensingChunk is one chunk of a log written by the project's encoder,
// with n TermService 1128 events from host.
func licensingChunk(t testing.TB, host string, n int) []byte {
	var buf bytes.Buffer
	w := writer.New(&buf)
	for i := range n {
		err := w.Write(writer.Record{Provider: "TermService", EventID: 1128, Level: 3, Channel: "System", Computer: host,
			TimeCreated: time.Date(2024, 1, 1, 0, i, 0, 0, time.UTC), Payload: writer.ClassicData("x")})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[format.FileHeaderSize : format.FileHeaderSize+format.ChunkSize]
}

// TestTemplateBombBounded: chunks of records that each expand to half the
// per-record budget are bounded by the chunk's budget — a few records are
// built, the rest are damage — and the licensing chunk after them is read
// whole, sequentially and in parallel, with events kept (as `events
// --format xml` does). Before, 68 KB of such records took 2.1 GB.
func TestTemplateBombBounded(t *testing.T) {
	bomb := bombChunk()
	chunks := [][]byte{}
	for range 6 {
		chunks = append(chunks, bomb)
	}
	chunks = append(chunks, licensingChunk(t, "GOOD", 20))
	file := fileWith(chunks...)
	for _, workers := range []int{1, 2} {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		hosts := map[string]int{}
		elems := 0
		st, err := Decode(bytes.NewReader(file), "bomb.evtx", Options{KeepTree: true, Workers: workers}, func(ev *Event) error {
			hosts[ev.Computer]++
			if ev.Computer == "BOMB" {
				elems += countNodes(ev.Tree)
			}
			return nil
		})
		runtime.ReadMemStats(&ms1)
		t.Logf("workers %d: %v, %d bomb elements, %d MB allocated, damaged %d of %d", workers, hosts, elems, (ms1.TotalAlloc-ms0.TotalAlloc)>>20, st.DamagedRecords, st.Records)
		if err != nil {
			t.Fatal(err)
		}
		if hosts["GOOD"] != 20 {
			t.Fatalf("workers %d: licensing chunk after the bombs: %v", workers, hosts)
		}
		perChunk := maxChunkWork / (8 * (1<<(bombLevels+1) - 1))
		if hosts["BOMB"] == 0 || hosts["BOMB"] > 6*perChunk {
			t.Fatalf("workers %d: %d bomb records built, at most %d per chunk allowed", workers, hosts["BOMB"], perChunk)
		}
		if st.DamagedRecords < 6*1000 {
			t.Fatalf("workers %d: %d damaged records; the bomb records over the chunk budget must be damage", workers, st.DamagedRecords)
		}
		if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 6*32<<20 {
			t.Fatalf("workers %d: %d MB allocated for %d bomb elements", workers, alloc>>20, elems)
		}
	}
}

func countNodes(n *Node) int {
	if n == nil {
		return 0
	}
	k := 1
	for _, c := range n.Children {
		k += countNodes(c)
	}
	return k
}
