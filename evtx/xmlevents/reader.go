// Package xmlevents reads Windows event XML: `wevtutil qe /f:xml` output (a
// bare sequence of <Event> elements), Event Viewer "Save As XML" files
// (<Events><Event>…</Events>), PowerShell Get-WinEvent ToXml() output (one
// <Event> per record, concatenated) and the XML EvtRender gives a live
// subscriber. Input may be UTF-8 or UTF-16 (with or without a byte-order
// mark). Events are streamed one at a time into evtx.Node trees, so memory is
// bounded by the largest single event, never by the file.
package xmlevents

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tsdiag/tsdiag/evtx"
)

// Defaults for Options.
const (
	DefaultMaxDepth = 64       // Windows events nest about 5 deep; BinXml payloads a few more
	DefaultMaxBytes = 16 << 20 // one event; the largest real ones are well under 1 MB
	// DefaultMaxElements bounds the elements plus attributes of one event.
	// A real event has tens (System's dozen, a few dozen Data); the widest
	// seen in exports, a UserData blob or a few hundred Data, stay in the
	// hundreds. 10,000 leaves that two orders of magnitude of headroom yet
	// caps the tree at a few MB, where the byte limit alone lets 16 MB of
	// "<a/>" become a tree of 4 million nodes (400 MB).
	DefaultMaxElements = 10000
)

// ErrNotEventXML is returned (wrapped, with the file name) when the input is
// XML but its root element is neither <Event> nor <Events>.
var ErrNotEventXML = errors.New("not a Windows event XML export")

// Options tune a decode.
type Options struct {
	// Filter is checked on (provider, event id) before the event is
	// passed on.
	Filter evtx.Filter
	// MaxDepth limits element nesting; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxBytes limits the size of one event (and of anything between
	// events); 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxElements limits the elements and attributes of one event; 0
	// means DefaultMaxElements.
	MaxElements int
	// MaxValue limits one text or attribute value: a longer one is cut
	// to its first MaxValue bytes and a marker, and the cut is recorded
	// as damage; 0 means DefaultMaxValue.
	MaxValue int
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxElements <= 0 {
		o.MaxElements = DefaultMaxElements
	}
	if o.MaxValue <= 0 {
		o.MaxValue = DefaultMaxValue
	}
	return o
}

// Decode reads every <Event> in r, calling fn for each in document order.
// An event over the depth, size or element limit, or an XML error inside one, is
// recorded in Stats.Damages with its line and skipped: reading resumes at
// the next <Event>, so one bad event never hides the ones after it. The
// returned error is set only when r is not event XML at all, cannot be
// read, or fn fails.
func Decode(r io.Reader, name string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	opts = opts.withDefaults()
	st := evtx.Stats{Files: 1}
	text, _, err := utf8Reader(r)
	if err != nil {
		return st, fmt.Errorf("%s: %w", name, err)
	}
	g := &guard{r: &sanitizer{r: text}, max: opts.MaxBytes}
	// The decoder reads a ByteReader directly, with no buffer of its own,
	// so after an error src is exactly where the decoder stopped and a new
	// decoder can resume from it.
	src := bufio.NewReader(versionFix(g))
	rd := &reader{src: src, guard: g, name: name, opts: opts, st: &st, lineBase: 1}
	rd.newDecoder(src)
	err = rd.run(fn)
	st.Bytes = g.total
	return st, err
}

// DecodeOne decodes one event's XML, as EvtRender returns it.
func DecodeOne(s string) (*evtx.Event, error) {
	var got *evtx.Event
	st, err := Decode(strings.NewReader(s), "event XML", Options{}, func(e *evtx.Event) error {
		if got != nil {
			return errors.New("event XML: more than one <Event>")
		}
		got = e
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(st.Damages) > 0:
		return nil, fmt.Errorf("event XML: %s", st.Damages[0].Reason)
	case got == nil:
		return nil, errors.New("event XML: no <Event> element")
	}
	got.File = ""
	return got, nil
}

func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		// The input has already been transcoded to UTF-8 from its byte
		// order mark; the declaration only repeats what the mark said.
		switch strings.ToLower(label) {
		case "utf-16", "utf-16le", "utf-16be", "unicode", "ucs-2", "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (export as UTF-8 or UTF-16)", label)
	}
	return d
}

type reader struct {
	dec   *xml.Decoder
	clip  *clipper // between src and dec: cuts values over MaxValue
	src   *bufio.Reader
	guard *guard
	name  string
	opts  Options
	st    *evtx.Stats
	seen  bool // the root element has been checked
	depth int  // elements open around the events (<Events>)
	// lineBase and offsetBase are where the current decoder started: each
	// resynchronisation starts a new one, which counts from zero.
	lineBase   int
	offsetBase int64
	// eventStart is the offset of the event being read; items counts its
	// elements and attributes so far.
	eventStart int64
	items      int
}

func (rd *reader) line() int {
	l, _ := rd.dec.InputPos()
	return rd.lineBase + l - 1 + rd.clip.lines
}

// offset is where the decoder stands in the input: the bytes the clipper
// dropped count, the marker it put in their place does not.
func (rd *reader) offset() int64 {
	return rd.offsetBase + rd.dec.InputOffset() + rd.clip.dropped - rd.clip.inserted
}

// newDecoder starts a decoder, behind a new clipper, reading r.
func (rd *reader) newDecoder(r io.ByteReader) {
	rd.clip = newClipper(r, rd.opts.MaxValue)
	rd.dec = newDecoder(rd.clip)
}

func (rd *reader) fail(kind, format string, args ...any) {
	rd.st.AddDamages(evtx.Damage{
		File: rd.name, Offset: rd.offset(), Kind: kind,
		Reason: fmt.Sprintf("line %d: ", rd.line()) + fmt.Sprintf(format, args...),
	})
}

func (rd *reader) run(fn func(*evtx.Event) error) error {
	for {
		tok, err := rd.dec.Token()
		if err == io.EOF {
			if !rd.seen {
				return fmt.Errorf("%s: %w (no elements)", rd.name, ErrNotEventXML)
			}
			return nil
		}
		if err != nil {
			// Between events as inside one, damage costs only itself:
			// reading resumes at the next <Event>.
			if err := rd.readError(err); err != nil {
				return err
			}
			if rd.resync() == errStop {
				return nil
			}
			continue
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := rd.checkRoot(t); err != nil {
				return err
			}
			if t.Name.Local == "Event" {
				if err := rd.event(t, rd.depth, fn); err != nil {
					if err == errStop {
						return nil
					}
					return err
				}
				continue
			}
			if rd.depth++; rd.depth > rd.opts.MaxDepth {
				rd.fail("file", "elements nested deeper than %d", rd.opts.MaxDepth)
				return nil
			}
		case xml.EndElement:
			rd.depth--
		}
	}
}

func (rd *reader) checkRoot(t xml.StartElement) error {
	if rd.seen {
		return nil
	}
	rd.seen = true
	if t.Name.Local != "Event" && t.Name.Local != "Events" {
		return fmt.Errorf("%s: %w (root element <%s>)", rd.name, ErrNotEventXML, t.Name.Local)
	}
	return nil
}

// readError turns a token error into damage, or into the returned error when
// the input was never XML.
func (rd *reader) readError(err error) error {
	if !rd.seen {
		return fmt.Errorf("%s: line %d: %w: %v", rd.name, rd.line(), ErrNotEventXML, err)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		rd.fail("file", "%s", se.Msg)
	} else {
		rd.fail("file", "%v", err)
	}
	return nil
}

// event reads one <Event> element and hands it on. An event over a limit
// is damage and is skipped; an XML error inside it is damage too, and the
// read resumes at the next <Event> (errStop only when none follows).
func (rd *reader) event(start xml.StartElement, depth int, fn func(*evtx.Event) error) error {
	offset, line := rd.offset(), rd.line()
	rd.eventStart, rd.items = offset, 0
	rd.clip.takeCuts()
	rd.guard.mark()
	node, err := rd.element(start, depth+1)
	if err != nil {
		rd.st.DamagedRecords++
		switch {
		case errors.Is(err, errEventTooBig):
			rd.fail("record", "event larger than %d bytes", rd.opts.MaxBytes)
		case errors.Is(err, errDepth):
			rd.fail("record", "elements nested deeper than %d", rd.opts.MaxDepth)
		case errors.Is(err, errTooMany):
			rd.fail("record", "event of more than %d elements and attributes", rd.opts.MaxElements)
		default:
			rd.readError(err)
		}
		// The rest of the refused event is skipped as bytes, not tokens:
		// the decoder would keep a stack of every open name (a million
		// for a million-deep event) and allocate each token it drops.
		// An <Event> nested inside the refused one is read as the next
		// event; the outer end tags are then damage and the read resumes
		// after them, so nothing goes unreported.
		return rd.resync()
	}
	rd.guard.mark()
	if n := rd.clip.takeCuts(); n > 0 {
		rd.st.AddDamages(evtx.Damage{
			File: rd.name, Offset: offset, Kind: "record",
			Reason: fmt.Sprintf("line %d: %d value(s) over %d bytes cut to their first %d bytes", line, n, rd.opts.MaxValue, rd.opts.MaxValue),
		})
	}
	if rd.offset()-rd.eventStart > bigEvent {
		// The decoder keeps the buffer its largest text grew to for as
		// long as it lives; a fresh one lets a 15 MB event's buffer go
		// with the event.
		rd.restart("")
	}
	rd.st.Records++
	ev := evtx.EventFromTree(node)
	if rd.opts.Filter != nil && !rd.opts.Filter(ev.Provider, ev.EventID) {
		return nil
	}
	ev.File, ev.Offset = rd.name, offset
	rd.st.Matched++
	return fn(ev)
}

// resync starts a new decoder at the next "<Event" start tag after the
// point where the last one failed (the rest of the broken event is
// dropped). It returns errStop when no further event follows.
func (rd *reader) resync() error {
	rd.lineBase = rd.line()
	rd.offsetBase = rd.offset()
	rd.guard.mark()
	skipped, lines, found := skipToEvent(rd.src, rd.guard)
	rd.lineBase += lines
	rd.offsetBase += skipped
	if !found {
		return errStop
	}
	rd.startDecoder(eventTag)
	return nil
}

// bigEvent is the size past which an event's decoder is replaced once the
// event is read (see event).
const bigEvent = 1 << 20

// restart replaces the decoder by a new one reading from where it stopped.
func (rd *reader) restart(tail string) {
	rd.lineBase = rd.line()
	rd.offsetBase = rd.offset()
	rd.startDecoder(tail)
}

// startDecoder starts a new decoder at src, given tail first. The new
// decoder must see the wrapper the old one had opened, or the closing
// </Events> would be an error.
func (rd *reader) startDecoder(tail string) {
	prefix := strings.Repeat("<Events>", rd.depth) + tail
	rd.offsetBase -= int64(len(prefix))
	rd.depth = 0
	rd.newDecoder(&prefixed{prefix: []byte(prefix), r: rd.src})
}

const eventTag = "<Event"

// skipToEvent discards bytes up to and including the next "<Event" that
// starts an Event element (not <Events> or <EventData>), counting bytes and
// newlines. It reads through the guard's reader, so it marks the guard as
// it goes: skipping is not buffering.
func skipToEvent(r *bufio.Reader, g *guard) (n int64, lines int, found bool) {
	matched := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return n, lines, false
		}
		n++
		if n&0xfff == 0 {
			g.mark()
		}
		if c == '\n' {
			lines++
		}
		switch {
		case matched == len(eventTag):
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' {
				// The byte after the name belongs to the tag: hand it back.
				_ = r.UnreadByte()
				n--
				if c == '\n' {
					lines--
				}
				return n, lines, true
			}
			matched = 0
		case c == eventTag[matched]:
			matched++
			continue
		default:
			matched = 0
		}
		if c == eventTag[0] {
			matched = 1
		}
	}
}

// prefixed is a ByteReader that yields prefix, then r.
type prefixed struct {
	prefix []byte
	r      *bufio.Reader
}

func (p *prefixed) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.r.Read(b)
}

func (p *prefixed) ReadByte() (byte, error) {
	if len(p.prefix) > 0 {
		c := p.prefix[0]
		p.prefix = p.prefix[1:]
		return c, nil
	}
	return p.r.ReadByte()
}

var (
	errDepth       = errors.New("too deep")
	errEventTooBig = errors.New("event too large")
	errTooMany     = errors.New("too many elements")
	errStop        = errors.New("stop")
)

// element builds the tree of the element opened by start. Recursion is
// bounded by MaxDepth.
func (rd *reader) element(start xml.StartElement, depth int) (*evtx.Node, error) {
	if depth > rd.opts.MaxDepth {
		return nil, errDepth
	}
	if rd.items += 1 + len(start.Attr); rd.items > rd.opts.MaxElements {
		return nil, errTooMany
	}
	n := &evtx.Node{Name: start.Name.Local}
	for _, a := range start.Attr {
		name := a.Name.Local
		if a.Name.Space == "xmlns" {
			name = "xmlns:" + name
		}
		n.Attrs = append(n.Attrs, evtx.Attr{Name: name, Value: restoreCtrl(a.Value)})
	}
	var text textBuf
	for {
		tok, err := rd.dec.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
		}
		rd.guard.mark()
		if rd.offset()-rd.eventStart > rd.opts.MaxBytes {
			return nil, errEventTooBig
		}
		switch t := tok.(type) {
		case xml.StartElement:
			c, err := rd.element(t, depth+1)
			if err != nil {
				return nil, err
			}
			if c.Name != "RenderingInfo" {
				// RenderingInfo is the viewer's localized text; the
				// payload values are in EventData/UserData.
				n.Children = append(n.Children, c)
			}
		case xml.CharData:
			text.add(t)
		case xml.EndElement:
			n.Text = restoreCtrl(text.String())
			if len(n.Children) > 0 && strings.TrimSpace(n.Text) == "" {
				n.Text = "" // indentation between child elements
			}
			return n, nil
		}
	}
}

// textBuf gathers an element's text. The text is almost always one token,
// which is copied once at its exact size; a strings.Builder would copy it
// again as it grew (a 15 MB value held two or three times over).
type textBuf struct {
	first string
	more  *strings.Builder
}

func (t *textBuf) add(b []byte) {
	switch {
	case t.more != nil:
		t.more.Write(b)
	case t.first == "":
		t.first = string(b)
	default:
		t.more = &strings.Builder{}
		t.more.Grow(len(t.first) + len(b))
		t.more.WriteString(t.first)
		t.more.Write(b)
		t.first = ""
	}
}

func (t *textBuf) String() string {
	if t.more != nil {
		return t.more.String()
	}
	return t.first
}

// guard fails the read once more than max bytes pass without a token
// completing (one text of many megabytes), which bounds the decoder's
// buffers on a hostile file; the reader then resynchronises.
type guard struct {
	r     io.Reader
	max   int64
	since int64
	total int64
}

var errTooBig = errors.New("event too large")

func (g *guard) mark() { g.since = 0 }

func (g *guard) Read(p []byte) (int, error) {
	if g.since > g.max {
		return 0, errTooBig
	}
	n, err := g.r.Read(p)
	g.since += int64(n)
	g.total += int64(n)
	return n, err
}
