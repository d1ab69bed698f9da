// Package evtx decodes Windows event logs into normalized events.
//
// Every input format (binary EVTX, legacy EVT, XML exports, the live event
// log) produces the same Event, so rules never care where an event came from.
//
// This is the decoding stage of the pipeline. To diagnose logs as `tsdiag
// scan` does, start at the root package, github.com/tsdiag/tsdiag: New, then
// Diagnoser.Scan.
package evtx

import "time"

// Event is one normalized event record.
//
// Payload values are strings rendered the way Windows renders them in XML
// (decimal integers, 0x-prefixed hex, {GUID}, S-1-5-… SIDs, RFC 3339 times,
// upper-case hex for binary), so a rule reads the same text an administrator
// sees in Event Viewer.
type Event struct {
	Provider     string // Provider/@Name, or @EventSourceName for classic sources
	ProviderGUID string // "{…}" or ""
	EventID      uint16
	Qualifiers   uint16 // 0 when absent
	Version      uint8
	Level        uint8
	Task         uint16
	Opcode       uint8
	Keywords     uint64
	TimeCreated  time.Time // always UTC
	RecordID     uint64
	ProcessID    uint32
	ThreadID     uint32
	Channel      string
	Computer     string
	UserSID      string

	// Data holds named payload values (EventData/Data[@Name] and the
	// children of UserData/<Element>).
	Data map[string]string
	// Params holds every payload value in document order, whether it was
	// carried in unnamed EventData/Data, named Data or UserData children, so
	// Params[0] is %1 in every Windows era.
	Params []string

	// Where the event came from: file path (archive members as
	// "bundle.zip!System.evtx") and the byte offset of the record in it.
	File   string
	Offset int64

	// Tree is the record's element tree when the decoder materialized it;
	// XML() renders from it. Nil for events built by hand.
	Tree *Node
}

// Node is one element of an event's XML tree. A processing instruction
// appears as a child whose Name is "?target" and whose Text is its data.
type Node struct {
	Name     string
	Attrs    []Attr
	Children []*Node
	Text     string // character data directly inside the element
}

// Attr is one XML attribute.
type Attr struct {
	Name  string
	Value string
}

// Param returns %n (1-based), or "" when the event carries fewer values.
func (e *Event) Param(n int) string {
	if n < 1 || n > len(e.Params) {
		return ""
	}
	return e.Params[n-1]
}

// Filter decides from the record's provider and event id alone whether the
// payload is worth decoding. A nil Filter accepts everything.
type Filter func(provider string, eventID uint16) bool

// Damage records one piece of input that could not be decoded as written.
type Damage struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Kind   string `json:"kind"` // "header", "chunk", "record", "file"
	Reason string `json:"reason"`
}

// Stats counts what a decode read and what it could not.
type Stats struct {
	Files          int      `json:"files"`
	Bytes          int64    `json:"bytes"`
	Records        int      `json:"records"`         // records decoded into events (incl. filtered out)
	Matched        int      `json:"matched"`         // records passed to the caller
	DamagedRecords int      `json:"damaged_records"` // records that could not be decoded
	DamagedChunks  int      `json:"damaged_chunks"`
	Damages        []Damage `json:"damages,omitempty"` // the first MaxDamagesPerFile of each file
	// DamagesOmitted counts damage past MaxDamagesPerFile per file: counted,
	// not kept, so a file of nothing but damage cannot fill memory.
	DamagesOmitted int      `json:"damages_omitted,omitempty"`
	Unreadable     []Damage `json:"unreadable,omitempty"` // inputs that could not be opened or recognised (the first MaxUnreadable)
	// UnreadableOmitted counts unreadable inputs past MaxUnreadable: a zip
	// of a million corrupt members must not keep a million reasons.
	UnreadableOmitted int `json:"unreadable_omitted,omitempty"`
	// Skipped lists files inside directories and bundles that are not event
	// logs (.txt, .reg, .csv…); they are reported, not treated as errors.
	// The first MaxSkipped are kept, the rest counted in SkippedOmitted.
	Skipped        []Damage `json:"skipped,omitempty"`
	SkippedOmitted int      `json:"skipped_omitted,omitempty"`

	// direct counts the records Options.Render wrote straight from their
	// values (the others took the tree path); tests read it.
	direct int
	// planned counts, of those, the records a plan rendered (plan.go), and
	// work the units of work spent building records (maxChunkWork): tests
	// compare both with plans on and off.
	planned, work int
}

// MaxSkipped is how many skipped files Stats keeps by name; a zip of
// 100,000 text files kept 15 MB of them (and wrote them all to a JSON
// report).
const MaxSkipped = 1000

// MaxUnreadable is how many unreadable inputs Stats keeps by name.
const MaxUnreadable = 1000

// AddUnreadable keeps ds by name up to MaxUnreadable and counts the rest.
func (s *Stats) AddUnreadable(ds ...Damage) {
	for _, d := range ds {
		if len(s.Unreadable) >= MaxUnreadable {
			s.UnreadableOmitted++
			continue
		}
		s.Unreadable = append(s.Unreadable, d)
	}
}

// UnreadableCount is every unreadable input, kept or only counted.
func (s *Stats) UnreadableCount() int { return len(s.Unreadable) + s.UnreadableOmitted }

// MaxDamages is how many damages Stats keeps in detail in all (beyond
// MaxDamagesPerFile each): a folder or bundle of many damaged logs would
// otherwise keep 100 for every one of them.
const MaxDamages = 10000

// AddSkipped keeps ds by name up to MaxSkipped and counts the rest.
func (s *Stats) AddSkipped(ds ...Damage) {
	for _, d := range ds {
		if len(s.Skipped) >= MaxSkipped {
			s.SkippedOmitted++
			continue
		}
		s.Skipped = append(s.Skipped, d)
	}
}

// MaxDamagesPerFile is how many damages Stats keeps in detail per file; the
// rest are counted in DamagesOmitted. A 16 MB file with "record size 0"
// every 8 bytes had taken 385 MB of damage records.
const MaxDamagesPerFile = 100

// AddDamages keeps ds in detail up to MaxDamagesPerFile per file and counts
// the rest.
func (s *Stats) AddDamages(ds ...Damage) {
	for _, d := range ds {
		if len(s.Damages) >= MaxDamages || s.keptFor(d.File) >= MaxDamagesPerFile {
			s.DamagesOmitted++
			continue
		}
		s.Damages = append(s.Damages, d)
	}
}

// keptFor counts the damages kept for file. Damages of one file arrive
// together, so counting back from the end stops after at most
// MaxDamagesPerFile entries in the usual case.
func (s *Stats) keptFor(file string) int {
	n := 0
	for i := len(s.Damages) - 1; i >= 0 && n < MaxDamagesPerFile; i-- {
		if s.Damages[i].File == file {
			n++
		} else if n > 0 {
			break
		}
	}
	return n
}

// Add folds o into s.
func (s *Stats) Add(o Stats) {
	s.Files += o.Files
	s.Bytes += o.Bytes
	s.Records += o.Records
	s.Matched += o.Matched
	s.DamagedRecords += o.DamagedRecords
	s.DamagedChunks += o.DamagedChunks
	s.AddDamages(o.Damages...)
	s.DamagesOmitted += o.DamagesOmitted
	s.AddUnreadable(o.Unreadable...)
	s.UnreadableOmitted += o.UnreadableOmitted
	s.AddSkipped(o.Skipped...)
	s.SkippedOmitted += o.SkippedOmitted
}
