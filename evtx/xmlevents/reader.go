// Package xmlevents reads Windows event XML: `wevtutil qe /f:xml` output (a
// bare sequence of <Event> elements), Event Viewer "Save As XML" files
// (<Events><Event>…</Events>), PowerShell Get-WinEvent ToXml() output (one
// <Event> per record, concatenated) and the XML EvtRender gives a live
// subscriber. Input may be UTF-8 or UTF-16 (with or without a byte-order
// mark). Events are streamed one at a time into evtx.Node trees, so memory is
// bounded by the largest single event, never by the file.
package xmlevents

import (
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
}

func (o Options) withDefaults() Options {
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

// Decode reads every <Event> in r, calling fn for each in document order.
// An error in the XML ends the read: the events before it are delivered and
// the error is recorded in Stats.Damages with its line. The returned error is
// set only when r is not event XML at all, cannot be read, or fn fails.
func Decode(r io.Reader, name string, opts Options, fn func(*evtx.Event) error) (evtx.Stats, error) {
	opts = opts.withDefaults()
	st := evtx.Stats{Files: 1}
	text, _, err := utf8Reader(r)
	if err != nil {
		return st, fmt.Errorf("%s: %w", name, err)
	}
	g := &guard{r: &sanitizer{r: text}, max: opts.MaxBytes}
	dec := newDecoder(versionFix(g))
	rd := &reader{dec: dec, guard: g, name: name, opts: opts, st: &st}
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
	guard *guard
	name  string
	opts  Options
	st    *evtx.Stats
	seen  bool // the root element has been checked
}

func (rd *reader) fail(kind, format string, args ...any) {
	line, _ := rd.dec.InputPos()
	rd.st.Damages = append(rd.st.Damages, evtx.Damage{
		File: rd.name, Offset: rd.dec.InputOffset(), Kind: kind,
		Reason: fmt.Sprintf("line %d: ", line) + fmt.Sprintf(format, args...),
	})
}

func (rd *reader) run(fn func(*evtx.Event) error) error {
	depth := 0
	for {
		tok, err := rd.dec.Token()
		if err == io.EOF {
			if !rd.seen {
				return fmt.Errorf("%s: %w (no elements)", rd.name, ErrNotEventXML)
			}
			return nil
		}
		if err != nil {
			return rd.readError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := rd.checkRoot(t); err != nil {
				return err
			}
			if t.Name.Local == "Event" {
				if err := rd.event(t, depth, fn); err != nil {
					if err == errStop {
						return nil
					}
					return err
				}
				continue
			}
			if depth++; depth > rd.opts.MaxDepth {
				rd.fail("file", "elements nested deeper than %d", rd.opts.MaxDepth)
				return nil
			}
		case xml.EndElement:
			depth--
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
		line, _ := rd.dec.InputPos()
		return fmt.Errorf("%s: line %d: %w: %v", rd.name, line, ErrNotEventXML, err)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		rd.fail("file", "%s", se.Msg)
	} else {
		rd.fail("file", "%v", err)
	}
	return nil
}

// event reads one <Event> element and hands it on.
func (rd *reader) event(start xml.StartElement, depth int, fn func(*evtx.Event) error) error {
	offset := rd.dec.InputOffset()
	rd.guard.mark()
	node, err := rd.element(start, depth+1)
	if err != nil {
		// The XML decoder cannot resynchronise after an error, so the
		// read ends here; every event before it was delivered.
		rd.st.DamagedRecords++
		switch {
		case errors.Is(err, errTooBig):
			rd.fail("record", "event larger than %d bytes", rd.opts.MaxBytes)
		case errors.Is(err, errDepth):
			rd.fail("record", "elements nested deeper than %d", rd.opts.MaxDepth)
		default:
			rd.readError(err)
		}
		return errStop
	}
	rd.guard.mark()
	rd.st.Records++
	ev := evtx.EventFromTree(node)
	if rd.opts.Filter != nil && !rd.opts.Filter(ev.Provider, ev.EventID) {
		return nil
	}
	ev.File, ev.Offset = rd.name, offset
	rd.st.Matched++
	return fn(ev)
}

var (
	errDepth = errors.New("too deep")
	errStop  = errors.New("stop")
)

// element builds the tree of the element opened by start. Recursion is
// bounded by MaxDepth.
func (rd *reader) element(start xml.StartElement, depth int) (*evtx.Node, error) {
	if depth > rd.opts.MaxDepth {
		return nil, errDepth
	}
	n := &evtx.Node{Name: start.Name.Local}
	for _, a := range start.Attr {
		name := a.Name.Local
		if a.Name.Space == "xmlns" {
			name = "xmlns:" + name
		}
		n.Attrs = append(n.Attrs, evtx.Attr{Name: name, Value: restoreCtrl(a.Value)})
	}
	var text strings.Builder
	for {
		tok, err := rd.dec.Token()
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		if err != nil {
			return nil, err
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
			text.Write(t)
		case xml.EndElement:
			n.Text = restoreCtrl(text.String())
			if len(n.Children) > 0 && strings.TrimSpace(n.Text) == "" {
				n.Text = "" // indentation between child elements
			}
			return n, nil
		}
	}
}

// guard fails the read once more than max bytes pass without an event
// completing, which bounds the decoder's buffers on a hostile file.
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
