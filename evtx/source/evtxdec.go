package source

import (
	"errors"
	"io"

	"github.com/tsdiag/tsdiag/evtx"
)

// decodeEVTX decodes one EVTX stream.
//
// Waiting for evtx.Decode (issue 2, in progress): until it lands, EVTX
// inputs are reported unreadable with this message rather than silently
// dropped.
var decodeEVTX = func(r io.Reader, name string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	return evtx.Stats{}, errors.New(name + ": EVTX decoder not built yet")
}
