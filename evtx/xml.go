package evtx

import (
	"strconv"
	"strings"
	"time"
)

const eventNS = "http://schemas.microsoft.com/win/2004/08/events/event"

// XML renders the event the way Windows' EvtRender does (compact, single
// quoted attributes). It renders Tree when the decoder kept it, otherwise
// an equivalent document built from the fields.
func (e *Event) XML() string {
	root := e.Tree
	if root == nil {
		root = e.treeFromFields()
	}
	var b strings.Builder
	writeNode(&b, root, -1)
	return b.String()
}

func writeNode(b *strings.Builder, n *Node, depth int) {
	if n == nil {
		return
	}
	if strings.HasPrefix(n.Name, "?") {
		b.WriteString("<" + n.Name + " " + n.Text + "?>")
		return
	}
	b.WriteByte('<')
	b.WriteString(n.Name)
	for _, a := range n.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString("='")
		b.WriteString(escapeAttr(a.Value))
		b.WriteByte('\'')
	}
	if n.Text == "" && len(n.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	b.WriteString(escapeText(n.Text))
	for _, c := range n.Children {
		writeNode(b, c, depth)
	}
	b.WriteString("</")
	b.WriteString(n.Name)
	b.WriteByte('>')
}

// A literal CR in text, and CR, LF or tab in an attribute, would be
// normalized away by any XML reader, so they are written as references.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;",
	"\r", "&#xD;", "\n", "&#xA;", "\t", "&#x9;")

func escapeText(s string) string {
	if !strings.ContainsAny(s, "&<>\r") {
		return s
	}
	return textEscaper.Replace(s)
}

func escapeAttr(s string) string {
	if !strings.ContainsAny(s, "&<>'\"\r\n\t") {
		return s
	}
	return attrEscaper.Replace(s)
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
