package xmlevents

import (
	"bufio"
	"bytes"
	"io"
)

// versionFix lets XML 1.1 declarations through: python-evtx writes
// version="1.1", which encoding/xml refuses although nothing else in such
// files differs from 1.0.
func versionFix(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(256)
	i := bytes.Index(head, []byte("?>"))
	if !bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), []byte("<?xml")) || i < 0 {
		return br
	}
	decl := bytes.Replace(head[:i], []byte(`version="1.1"`), []byte(`version="1.0"`), 1)
	decl = bytes.Replace(decl, []byte(`version='1.1'`), []byte(`version='1.0'`), 1)
	fixed := append([]byte(nil), decl...)
	br.Discard(i)
	return io.MultiReader(bytes.NewReader(fixed), br)
}
