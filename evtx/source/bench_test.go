package source

import (
	"bytes"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// BenchmarkWalk reads the real samples as a directory, a zip, a tar.gz and
// through stdin, so the cost of each container shows as a ratio against the
// directory in one run (MB/s is of uncompressed log bytes).
func BenchmarkWalk(b *testing.B) {
	files, _ := corpusFiles(b)
	ms := members(files, "logs/")
	var size int64
	for _, m := range ms {
		size += int64(len(m.data))
	}
	dir := b.TempDir()
	zipPath := write(b, dir, "b.zip", zipOf(b, ms...))
	tgz := gz(tarOf(b, ms...))
	tgzPath := write(b, dir, "b.tgz", tgz)
	cases := []struct {
		name  string
		input string
		opts  func() Options
	}{
		{"dir", corpusDir(b), func() Options { return Options{} }},
		{"zip", zipPath, func() Options { return Options{} }},
		{"tgz", tgzPath, func() Options { return Options{} }},
		{"stdin-tgz", "-", func() Options { return Options{Stdin: bytes.NewReader(tgz)} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				if _, err := Walk([]string{c.input}, c.opts(), func(*evtx.Event) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
