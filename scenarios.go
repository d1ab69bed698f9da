// Package tsdiag holds what the whole module shares from its root: the
// embedded scenario files (cmd/tsdiag cannot embed ../../testdata).
package tsdiag

import (
	"embed"
	"io/fs"
)

//go:embed testdata/scenarios/*.toml
var embedded embed.FS

// Scenarios holds the files of testdata/scenarios (at its root), the
// licensing scenarios `tsdiag gen` and `tsdiag demo` write as EVTX.
var Scenarios = mustSub(embedded, "testdata/scenarios")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant the embed directive above guarantees
	}
	return sub
}
