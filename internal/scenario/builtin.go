package scenario

import (
	"embed"
	"io/fs"
)

//go:embed scenarios/*.toml
var embedded embed.FS

// Builtin holds the built-in scenario files (at its root), the licensing
// scenarios `tsdiag gen` and `tsdiag demo` write as EVTX. They are product
// data, so they live beside the code that reads them.
var Builtin = mustSub(embedded, "scenarios")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // dir is a constant the embed directive above guarantees
	}
	return sub
}
