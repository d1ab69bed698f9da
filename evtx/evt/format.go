// Package evt decodes legacy Windows NT/2000/XP/2003 event logs (.evt).
//
// The format is a 0x30-byte header followed by a circular buffer of
// EVENTLOGRECORD structures and one end-of-file record. Once the log reaches
// its maximum size the buffer wraps: the newest records sit right after the
// header, the oldest ones after the end-of-file record, and one record may be
// split across the end of the file and the start of the buffer. Logs copied
// from a running system are "dirty": the header offsets are stale and the
// end-of-file record is the authority.
package evt

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

const (
	headerSize    = 0x30
	eofRecordSize = 0x28
	// minRecordSize is the fixed part of EVENTLOGRECORD plus the trailing
	// length copy.
	minRecordSize = 0x38
	// fillerDword pads the tail of a wrapped buffer when Windows chose not
	// to split a record there.
	fillerDword = 0x27

	flagDirty   = 0x1
	flagWrapped = 0x2
)

var signature = [4]byte{'L', 'f', 'L', 'e'}

// eofMagic is the body of ELF_EOF_RECORD after its leading size.
var eofMagic = []byte{
	0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
	0x33, 0x33, 0x33, 0x33, 0x44, 0x44, 0x44, 0x44,
}

// IsEVT reports whether head (the first bytes of a file) starts with an EVT
// header: size 0x30 followed by the "LfLe" signature.
func IsEVT(head []byte) bool {
	return len(head) >= 8 && binary.LittleEndian.Uint32(head) == headerSize &&
		[4]byte(head[4:8]) == signature
}

type header struct {
	start, end     uint32
	current        uint32
	oldest         uint32
	maxSize, flags uint32
}

func parseHeader(b []byte) header {
	le := binary.LittleEndian
	return header{
		start:   le.Uint32(b[16:]),
		end:     le.Uint32(b[20:]),
		current: le.Uint32(b[24:]),
		oldest:  le.Uint32(b[28:]),
		maxSize: le.Uint32(b[32:]),
		flags:   le.Uint32(b[36:]),
	}
}

// eofRecord holds the pointers of ELF_EOF_RECORD.
type eofRecord struct {
	begin, end uint32
}

// isEOFRecord reports whether b starts with an ELF_EOF_RECORD.
func isEOFRecord(b []byte) bool {
	return len(b) >= eofRecordSize && binary.LittleEndian.Uint32(b) == eofRecordSize &&
		string(b[4:20]) == string(eofMagic) && binary.LittleEndian.Uint32(b[36:]) == eofRecordSize
}

func parseEOF(b []byte) eofRecord {
	return eofRecord{begin: binary.LittleEndian.Uint32(b[20:]), end: binary.LittleEndian.Uint32(b[24:])}
}

// Event types of EVENTLOGRECORD.EventType.
const (
	typeSuccess      = 0x0000
	typeError        = 0x0001
	typeWarning      = 0x0002
	typeInformation  = 0x0004
	typeAuditSuccess = 0x0008
	typeAuditFailure = 0x0010
)

// Keywords Windows reports for classic events when it renders them as XML.
const (
	keywordClassic      = 0x80000000000000
	keywordAuditSuccess = 0x20000000000000
	keywordAuditFailure = 0x10000000000000
)

// levelOf maps an EventType to the level Windows shows for it since Vista.
func levelOf(eventType uint16) uint8 {
	switch eventType {
	case typeError:
		return 2
	case typeWarning:
		return 3
	case typeAuditSuccess, typeAuditFailure:
		return 0
	default:
		return 4
	}
}

func keywordsOf(eventType uint16) uint64 {
	switch eventType {
	case typeAuditSuccess:
		return keywordClassic | keywordAuditSuccess
	case typeAuditFailure:
		return keywordClassic | keywordAuditFailure
	}
	return keywordClassic
}

// sidString renders a binary SID as S-R-A-S1-…; ok is false when b is not
// a well-formed SID.
func sidString(b []byte) (string, bool) {
	if len(b) < 8 || b[0] != 1 {
		return "", false
	}
	n := int(b[1])
	if len(b) != 8+4*n {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "S-%d-%d", b[0], auth)
	for i := 0; i < n; i++ {
		s.WriteString("-")
		s.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return s.String(), true
}

// channels maps the file names Windows 2000/2003 used for its logs to the
// channel names the same logs carry since Vista.
var channels = map[string]string{
	"sysevent":          "System",
	"appevent":          "Application",
	"secevent":          "Security",
	"system":            "System",
	"application":       "Application",
	"security":          "Security",
	"dnsevent":          "DNS Server",
	"ntds":              "Directory Service",
	"ntfrs":             "File Replication Service",
	"internet explorer": "Internet Explorer",
}

// ChannelFromName derives the log's channel from its file name
// ("SysEvent.Evt" → "System"), or "" when the name says nothing known.
// Archive members ("bundle.zip!dir/SecEvent.Evt") use their last element.
func ChannelFromName(name string) string {
	if i := strings.LastIndexAny(name, `/\!`); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return channels[strings.ToLower(name)]
}
