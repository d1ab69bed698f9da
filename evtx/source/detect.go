package source

import (
	"bytes"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt"
	"github.com/tsdiag/tsdiag/evtx/xmlevents"
)

// Format is what an input's first bytes say it is.
type Format int

// Formats Detect recognises.
const (
	Unknown Format = iota
	EVTX           // evtx.IsEVTX: the file signature
	EVT            // header size 0x30 then "LfLe"
	XML            // optional BOM, white space, '<'
	Zip            // "PK\x03\x04" (or an empty archive's "PK\x05\x06")
	Gzip           // 1f 8b
	Tar            // "ustar" at offset 257
)

var formatNames = [...]string{"unknown", "EVTX", "EVT", "XML", "zip", "gzip", "tar"}

func (f Format) String() string { return formatNames[f] }

// SniffLen is how many leading bytes Detect wants (a tar header's magic sits
// at offset 257).
const SniffLen = 512

// Detect recognises an input from its first bytes, never from its name.
func Detect(head []byte) Format {
	switch {
	case evtx.IsEVTX(head):
		return EVTX
	case evt.IsEVT(head):
		return EVT
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return Zip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return Tar
	case xmlevents.IsXML(head):
		return XML
	}
	return Unknown
}

// isArchive reports whether f holds other files.
func (f Format) isArchive() bool { return f == Zip || f == Gzip || f == Tar }
