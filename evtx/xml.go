package evtx

import (
	"encoding/xml"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

const eventNS = "http://schemas.microsoft.com/win/2004/08/events/event"

// XML renders the event the way Windows' EvtRender does (compact, single
// quoted attributes). It renders Tree when the decoder kept it, otherwise
// an equivalent document built from the fields.
//
// The result is always one well-formed element on one line, whatever the
// record held: a line feed in text is written as &#xA; (as in attributes),
// control characters XML 1.0 does not allow become U+F700+c (see
// ctrlBase), U+FFFE, U+FFFF and invalid UTF-8 become U+FFFD as
// encoding/xml's EscapeText does, element
// and attribute names are reduced to XML names (other characters become
// '_'), a repeated attribute is dropped, and a processing instruction
// cannot close early or pose as the XML declaration.
func (e *Event) XML() string {
	return string(e.AppendXML(nil))
}

// AppendXML appends e.XML() to dst.
func (e *Event) AppendXML(dst []byte) []byte {
	root := e.Tree
	if root == nil {
		root = e.treeFromFields()
	}
	if strings.HasPrefix(root.Name, "?") {
		// A record whose only content is a processing instruction: still
		// one event per line.
		dst = append(dst, "<Event>"...)
		return append(appendNode(dst, root, true), "</Event>"...)
	}
	return appendNode(dst, root, true)
}

// appendNode writes n as XML. strict is the well-formed form of XML();
// without it, names and characters are written as they are and only
// & < > and CR are escaped in text: that is the form payload values hold
// when their content is markup (nodeText), and it must not change.
func appendNode(b []byte, n *Node, strict bool) []byte {
	if n == nil {
		return b
	}
	if strings.HasPrefix(n.Name, "?") {
		if strict {
			return appendPI(b, n.Name[1:], n.Text)
		}
		return append(append(append(append(append(b, '<'), n.Name...), ' '), n.Text...), "?>"...)
	}
	b = append(b, '<')
	b = appendName(b, n.Name, strict)
	for i, a := range n.Attrs {
		if strict && repeatedAttr(n.Attrs[:i], a.Name) {
			continue
		}
		b = append(b, ' ')
		b = appendName(b, a.Name, strict)
		b = append(b, "='"...)
		b = appendEscaped(b, a.Value, true, strict)
		b = append(b, '\'')
	}
	if n.Text == "" && len(n.Children) == 0 {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = appendEscaped(b, n.Text, false, strict)
	for _, c := range n.Children {
		b = appendNode(b, c, strict)
	}
	b = append(b, "</"...)
	b = appendName(b, n.Name, strict)
	return append(b, '>')
}

// repeatedAttr reports whether name (as written) is among attrs already.
func repeatedAttr(attrs []Attr, name string) bool {
	for _, a := range attrs {
		if a.Name == name || sameName(a.Name, name) {
			return true
		}
	}
	return false
}

func sameName(a, b string) bool {
	if isXMLName(a) && isXMLName(b) {
		return false
	}
	return string(appendName(nil, a, true)) == string(appendName(nil, b, true))
}

func appendName[S []byte | string](b []byte, name S, strict bool) []byte {
	if !strict || isXMLName(name) {
		return append(b, name...)
	}
	return appendSafeName(b, string(name))
}

// isXMLName reports whether s is a Name of XML 1.0 (fifth edition, section
// 2.3, https://www.w3.org/TR/xml/#NT-Name). The ASCII test comes first:
// every real event's names pass it.
func isXMLName[S []byte | string](s S) bool {
	if len(s) == 0 {
		return false
	}
	colons := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			// A prefix and a local part (Namespaces in XML): one colon,
			// inside; encoding/xml cannot read "::" or a leading colon.
			colons++
			if colons > 1 || i == 0 || i == len(s)-1 {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case '0' <= c && c <= '9', c == '-', c == '.':
			if i == 0 {
				return false
			}
		default:
			if c < utf8.RuneSelf {
				return false
			}
			return isXMLNameSlow(string(s))
		}
	}
	return true
}

func isXMLNameSlow(s string) bool {
	if strings.Count(s, ":") > 1 || s[0] == ':' || s[len(s)-1] == ':' {
		return false
	}
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
		if !nameRune(r, i == 0) {
			return false
		}
	}
	return true
}

// nameRune reports whether r may stand in a name (first: at its start):
// by XML 1.0 fifth edition and by encoding/xml, which still checks the
// older tables of the fourth edition (Appendix B) and rejects, for
// example, U+FFFD. Only non-ASCII names get here, so asking encoding/xml
// itself (once per rune) costs nothing in practice.
func nameRune(r rune, first bool) bool {
	if first && !isNameStart(r) || !first && !isNameChar(r) {
		return false
	}
	if r < utf8.RuneSelf {
		return true
	}
	key := r
	if first {
		key = -r
	}
	if v, ok := nameRunes.Load(key); ok {
		return v.(bool)
	}
	name := "a" + string(r)
	if first {
		name = string(r)
	}
	_, err := xml.NewDecoder(strings.NewReader("<" + name + "/>")).Token()
	nameRunes.Store(key, err == nil)
	return err == nil
}

var nameRunes sync.Map // rune (negated: as first) → bool

// appendSafeName writes name with every character a Name cannot hold
// replaced by '_', and a '_' before a first character that may only follow.
func appendSafeName(b []byte, name string) []byte {
	if name == "" {
		return append(b, '_')
	}
	keepColon := strings.Count(name, ":") == 1 && name[0] != ':' && name[len(name)-1] != ':'
	for i, r := range name {
		if r == ':' {
			if keepColon && i > 0 {
				b = append(b, ':')
			} else {
				b = append(b, '_')
			}
			continue
		}
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(name[i:], "\uFFFD"):
			b = append(b, '_')
		case nameRune(r, i == 0):
			b = utf8.AppendRune(b, r)
		case i == 0 && nameRune(r, false):
			b = append(b, '_')
			b = utf8.AppendRune(b, r)
		default:
			b = append(b, '_')
		}
	}
	return b
}

func isNameStart(r rune) bool {
	switch {
	case r == ':' || r == '_' || 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z':
		return true
	case r < 0xC0:
		return false
	}
	return r <= 0xD6 || 0xD8 <= r && r <= 0xF6 || 0xF8 <= r && r <= 0x2FF || 0x370 <= r && r <= 0x37D ||
		0x37F <= r && r <= 0x1FFF || 0x200C <= r && r <= 0x200D || 0x2070 <= r && r <= 0x218F ||
		0x2C00 <= r && r <= 0x2FEF || 0x3001 <= r && r <= 0xD7FF || 0xF900 <= r && r <= 0xFDCF ||
		0xFDF0 <= r && r <= 0xFFFD || 0x10000 <= r && r <= 0xEFFFF
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || '0' <= r && r <= '9' || r == 0xB7 ||
		0x300 <= r && r <= 0x36F || 0x203F <= r && r <= 0x2040
}

// appendPI writes a processing instruction that stays one: its target is
// a name other than "xml" (which would pose as the declaration, and which
// encoding/xml parses as one) and its data cannot contain "?>".
func appendPI(b []byte, target, data string) []byte {
	b = append(b, "<?"...)
	start := len(b)
	b = appendName(b, target, true)
	for i := start; i < len(b); i++ {
		if b[i] == ':' {
			b[i] = '_' // no colon in a PI target (Namespaces in XML, section 7)
		}
	}
	if strings.EqualFold(string(b[start:]), "xml") {
		b = append(b[:start], "_xml"...)
	}
	b = append(b, ' ')
	for i, r := range data {
		switch {
		case r == '>' && i > 0 && data[i-1] == '?':
			b = append(b, " >"...)
		case r == '\n' || r == '\r':
			b = append(b, ' ') // no reference can stand for it here; keeps one event per line
		case r < 0x20 && r != '\t':
			b = append(b, ctrlRunes[r]...)
		case !xmlChar(r, data[i:]):
			b = append(b, "\uFFFD"...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, "?>"...)
}

// xmlChar reports whether r (decoded from the start of rest) is a Char of
// XML 1.0: tab, LF, CR and U+0020 on, without surrogates, U+FFFE, U+FFFF
// and the invalid UTF-8 that decodes as U+FFFD.
func xmlChar(r rune, rest string) bool {
	switch {
	case r == utf8.RuneError:
		return strings.HasPrefix(rest, "\uFFFD")
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r == 0xFFFE || r == 0xFFFF:
		return false
	}
	return true
}

// appendEscaped writes s as text or as a single-quoted attribute value.
// A literal CR in text, and CR, LF or tab in an attribute, would be
// normalized away by any XML reader, so they are written as references;
// strict also writes LF in text as a reference (one event per line) and
// replaces what XML cannot hold with U+FFFD.
func appendEscaped[S []byte | string](b []byte, s S, attr, strict bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		for i < len(s) && xmlPlain[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		var rep string
		switch c {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '\r':
			rep = "&#xD;"
		case '\'':
			if !attr {
				continue
			}
			rep = "&apos;"
		case '"':
			if !attr {
				continue
			}
			rep = "&quot;"
		case '\n':
			if !attr && !strict {
				continue
			}
			rep = "&#xA;"
		case '\t':
			if !attr {
				continue
			}
			rep = "&#x9;"
		default:
			if !strict || c >= 0x20 && c < utf8.RuneSelf {
				continue
			}
			if c < 0x20 {
				rep = ctrlRunes[c]
				break
			}
			r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
			if xmlChar(r, string(s[i:i+size])) {
				i += size - 1
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			start = i + size
			i += size - 1
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// ctrlBase carries the control characters XML 1.0 cannot hold (U+0000 to
// U+001F but tab, LF and CR; Windows writes them raw into its XML, from
// binary strings and broken SID lookups) as the private-use runes U+F700 to
// U+F71F: the convention evtx/xmlevents reads them back with, so the values
// survive an export and re-import intact instead of being lost.
const ctrlBase = 0xF700

var ctrlRunes = func() (t [0x20]string) {
	for c := range t {
		t[c] = string(rune(ctrlBase + c))
	}
	return t
}()

// xmlPlain marks the bytes appendEscaped copies as they are in every mode.
var xmlPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune("&<>'\"", rune(c))
	}
	return t
}()

func escapeText(s string) string {
	if !strings.ContainsAny(s, "&<>\r") {
		return s
	}
	return string(appendEscaped(nil, s, false, false))
}

func el(name, text string, attrs ...Attr) *Node {
	return &Node{Name: name, Text: text, Attrs: attrs}
}

func (e *Event) treeFromFields() *Node {
	sys := el("System", "")
	prov := el("Provider", "", Attr{"Name", e.Provider})
	if e.ProviderGUID != "" {
		prov.Attrs = append(prov.Attrs, Attr{"Guid", e.ProviderGUID})
	}
	id := el("EventID", strconv.Itoa(int(e.EventID)))
	if e.Qualifiers != 0 {
		id.Attrs = []Attr{{"Qualifiers", strconv.Itoa(int(e.Qualifiers))}}
	}
	sec := el("Security", "")
	if e.UserSID != "" {
		sec.Attrs = []Attr{{"UserID", e.UserSID}}
	}
	sys.Children = []*Node{prov, id,
		el("Version", strconv.Itoa(int(e.Version))),
		el("Level", strconv.Itoa(int(e.Level))),
		el("Task", strconv.Itoa(int(e.Task))),
		el("Opcode", strconv.Itoa(int(e.Opcode))),
		el("Keywords", "0x"+strconv.FormatUint(e.Keywords, 16)),
		el("TimeCreated", "", Attr{"SystemTime", e.TimeCreated.UTC().Format(time.RFC3339Nano)}),
		el("EventRecordID", strconv.FormatUint(e.RecordID, 10)),
		el("Execution", "", Attr{"ProcessID", strconv.FormatUint(uint64(e.ProcessID), 10)},
			Attr{"ThreadID", strconv.FormatUint(uint64(e.ThreadID), 10)}),
		el("Channel", e.Channel),
		el("Computer", e.Computer),
		sec,
	}
	root := el("Event", "", Attr{"xmlns", eventNS})
	root.Children = []*Node{sys, e.payloadFromFields()}
	return root
}

// payloadFromFields writes Params as Data elements, naming those whose
// value matches a named Data entry in order.
func (e *Event) payloadFromFields() *Node {
	ed := el("EventData", "")
	names := make([]string, 0, len(e.Data))
	for k := range e.Data {
		names = append(names, k)
	}
	used := map[string]bool{}
	for _, p := range e.Params {
		d := el("Data", p)
		for _, k := range sortedStrings(names) {
			if !used[k] && e.Data[k] == p {
				d.Attrs = []Attr{{"Name", k}}
				used[k] = true
				break
			}
		}
		ed.Children = append(ed.Children, d)
	}
	return ed
}

func sortedStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}
