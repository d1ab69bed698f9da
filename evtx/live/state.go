package live

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// StateVersion is the state file format version.
const StateVersion = 1

// State is what survives a restart: the subscription bookmark (as the XML
// EvtRender gives for a bookmark) and the time from which the stream is
// complete.
type State struct {
	Version  int       `json:"version"`
	Bookmark string    `json:"bookmark"`         // <BookmarkList>…</BookmarkList>, "" before the first event
	Since    time.Time `json:"since"`            // events before this were never wanted
	Saved    time.Time `json:"saved"`            // when this state was written
	Events   uint64    `json:"events,omitempty"` // events delivered over the state's life
	// Streams are the de-duplication marks (last record id and its time per
	// computer and channel, Dedupe's keys) at the bookmark: per forwarding
	// host for ForwardedEvents, where the bookmark's own position numbers
	// the collector's log, not the hosts'.
	Streams map[string]Mark `json:"streams,omitempty"`
}

// Mark is the last record delivered in one stream.
type Mark struct {
	Record uint64    `json:"record"`
	Time   time.Time `json:"time"`
}

// ErrCorruptState marks a state file that exists but cannot be used.
var ErrCorruptState = errors.New("corrupt state file")

// LoadState reads path. A missing file is a fresh start (zero State, no
// error); a file that cannot be parsed is an error wrapping ErrCorruptState
// — never silently replaced, because starting over could lose events.
func LoadState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Version: StateVersion}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("state file %s: %w", path, err)
	}
	var s State
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return State{}, fmt.Errorf("%w %s: %s", ErrCorruptState, path, jsonErr(b, err))
	}
	if s.Version != StateVersion {
		return State{}, fmt.Errorf("%w %s: version %d, this tsdiag reads version %d", ErrCorruptState, path, s.Version, StateVersion)
	}
	if s.Bookmark != "" {
		if _, err := ParseBookmark(s.Bookmark); err != nil {
			return State{}, fmt.Errorf("%w %s: bookmark: %v", ErrCorruptState, path, err)
		}
	}
	return s, nil
}

// jsonErr adds the byte offset to a JSON error.
func jsonErr(b []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("offset %d: %v", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("offset %d: %v", te.Offset, err)
	}
	if len(b) == 0 {
		return "empty file"
	}
	return err.Error()
}

// Save writes s to path atomically: a temporary file in the same directory,
// flushed to disk, then renamed over path, so a crash leaves either the old
// state or the new one, never a torn file.
func (s State) Save(path string) error {
	s.Version = StateVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	name := tmp.Name()
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = replaceFile(name, path, os.Rename, transientReplaceError, time.Sleep)
	}
	if werr != nil {
		os.Remove(name)
		return fmt.Errorf("state file %s: %w", path, werr)
	}
	return nil
}

// MoveAside renames a corrupt state file out of the way (kept for
// inspection) and returns its new name.
func MoveAside(path string, now time.Time) (string, error) {
	to := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	return to, os.Rename(path, to)
}

// Bookmark positions, per channel, as the event log writes them.
type bookmarkList struct {
	XMLName   xml.Name `xml:"BookmarkList"`
	Bookmarks []struct {
		Channel   string `xml:"Channel,attr"`
		RecordID  string `xml:"RecordId,attr"`
		IsCurrent string `xml:"IsCurrent,attr"`
	} `xml:"Bookmark"`
}

// ParseBookmark returns the last record id per channel from bookmark XML.
func ParseBookmark(s string) (map[string]uint64, error) {
	var bl bookmarkList
	if err := xml.Unmarshal([]byte(s), &bl); err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, b := range bl.Bookmarks {
		if b.Channel == "" {
			return nil, fmt.Errorf("bookmark without a channel")
		}
		n, err := strconv.ParseUint(b.RecordID, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("channel %s: bad RecordId %q", b.Channel, b.RecordID)
		}
		out[b.Channel] = n
	}
	return out, nil
}

// BookmarkXML renders per-channel positions in the event log's bookmark
// form (EvtCreateBookmark accepts it); current names the channel of the
// last event.
func BookmarkXML(pos map[string]uint64, current string) string {
	chans := make([]string, 0, len(pos))
	for c := range pos {
		chans = append(chans, c)
	}
	sort.Strings(chans)
	out := "<BookmarkList>\r\n"
	for _, c := range chans {
		cur := ""
		if c == current {
			cur = " IsCurrent='true'"
		}
		out += fmt.Sprintf("  <Bookmark Channel='%s' RecordId='%d'%s/>\r\n", xmlAttr(c), pos[c], cur)
	}
	return out + "</BookmarkList>"
}

func xmlAttr(s string) string {
	var b []byte
	for _, r := range s {
		switch r {
		case '\'':
			b = append(b, "&apos;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		default:
			b = append(b, string(r)...)
		}
	}
	return string(b)
}

// replaceFile renames from over to, retrying while the error is transient:
// antivirus scanners, backup agents and indexers open files briefly without
// sharing delete access, and MoveFileEx then fails with a sharing
// violation for a moment (see transientReplaceError). About 3 seconds in
// all, then the error is returned.
func replaceFile(from, to string, rename func(string, string) error, transient func(error) bool, sleep func(time.Duration)) error {
	wait := 10 * time.Millisecond
	var err error
	for i := 0; i < 9; i++ {
		if err = rename(from, to); err == nil || !transient(err) {
			return err
		}
		sleep(wait)
		wait *= 2
	}
	return err
}
