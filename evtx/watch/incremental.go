package watch

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// layout is the checksum of every chunk of a file, so a poll decodes only
// the chunks that changed: the one filling up, new ones, and any the event
// log overwrote when it wrapped around. Reading to checksum costs a small
// fraction of decoding (BenchmarkPollChanged vs BenchmarkPollGrown).
type layout struct {
	chunks []uint32
}

func readLayout(f *os.File) (layout, error) {
	var l layout
	buf := make([]byte, format.ChunkSize)
	if _, err := f.Seek(format.FileHeaderSize, io.SeekStart); err != nil {
		return l, err
	}
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			l.chunks = append(l.chunks, crc32.ChecksumIEEE(buf[:n]))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return l, nil
		}
		if err != nil {
			return l, err
		}
	}
}

// changed lists the chunks of cur that differ from prev (all of them when
// prev is empty).
func changed(prev, cur layout) []int {
	var out []int
	for i, c := range cur.chunks {
		if i >= len(prev.chunks) || prev.chunks[i] != c {
			out = append(out, i)
		}
	}
	return out
}

// decodeChunks decodes the file header followed by only the listed chunks,
// and puts each event's offset back where it is in the file.
func decodeChunks(f *os.File, name string, idx []int, filter evtx.Filter, fn func(*evtx.Event) error) (evtx.Stats, error) {
	head := make([]byte, format.FileHeaderSize)
	if _, err := f.ReadAt(head, 0); err != nil {
		return evtx.Stats{}, fmt.Errorf("%s: %w", name, err)
	}
	parts := []io.Reader{bytes.NewReader(head)}
	for _, i := range idx {
		parts = append(parts, io.NewSectionReader(f, format.FileHeaderSize+int64(i)*format.ChunkSize, format.ChunkSize))
	}
	return evtx.Decode(io.MultiReader(parts...), name, evtx.Options{Filter: filter}, func(ev *evtx.Event) error {
		if ev.Offset >= format.FileHeaderSize {
			j := (ev.Offset - format.FileHeaderSize) / format.ChunkSize
			if j < int64(len(idx)) {
				ev.Offset += (int64(idx[j]) - j) * format.ChunkSize
			}
		}
		return fn(ev)
	})
}
