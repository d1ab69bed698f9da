// Package tsdiag holds what the whole module shares from its root: the
// embedded scenario files (cmd/tsdiag cannot embed ../../testdata).
package tsdiag

import "embed"

// Scenarios holds testdata/scenarios/*.toml, the licensing scenarios
// `tsdiag gen` and `tsdiag demo` write as EVTX.
//
//go:embed testdata/scenarios/*.toml
var Scenarios embed.FS
