package evtx

import (
	"strconv"
	"strings"
	"time"
)

// EventFromTree normalizes an <Event> element tree — decoded from BinXml or
// parsed from an XML export — into an Event. The tree is kept in Event.Tree.
// Element names may carry a namespace prefix ("e:System"); it is ignored.
func EventFromTree(root *Node) *Event {
	ev := &Event{Tree: root}
	if root == nil {
		return ev
	}
	for _, c := range root.Children {
		switch localName(c.Name) {
		case "System":
			fillSystem(ev, c)
		case "EventData":
			fillEventData(ev, c)
		case "UserData":
			fillUserData(ev, c)
		}
	}
	return ev
}

func localName(n string) string {
	if i := strings.LastIndexByte(n, ':'); i >= 0 {
		return n[i+1:]
	}
	return n
}

// Attr returns the value of the attribute named name ("" when absent).
func (n *Node) Attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if localName(a.Name) == name {
			return a.Value
		}
	}
	return ""
}

// Child returns the first child element named name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if localName(c.Name) == name {
			return c
		}
	}
	return nil
}

func fillSystem(ev *Event, sys *Node) {
	for _, c := range sys.Children {
		t := strings.TrimSpace(c.Text)
		switch localName(c.Name) {
		case "Provider":
			ev.Provider = c.Attr("Name")
			if ev.Provider == "" {
				ev.Provider = c.Attr("EventSourceName")
			}
			ev.ProviderGUID = c.Attr("Guid")
		case "EventID":
			ev.EventID = uint16(parseUint(t, 16))
			ev.Qualifiers = uint16(parseUint(c.Attr("Qualifiers"), 16))
		case "Version":
			ev.Version = uint8(parseUint(t, 8))
		case "Level":
			ev.Level = uint8(parseUint(t, 8))
		case "Task":
			ev.Task = uint16(parseUint(t, 16))
		case "Opcode":
			ev.Opcode = uint8(parseUint(t, 8))
		case "Keywords":
			ev.Keywords = parseUint(t, 64)
		case "TimeCreated":
			ev.TimeCreated = parseSystemTime(c.Attr("SystemTime"))
		case "EventRecordID":
			ev.RecordID = parseUint(t, 64)
		case "Execution":
			ev.ProcessID = uint32(parseUint(c.Attr("ProcessID"), 32))
			ev.ThreadID = uint32(parseUint(c.Attr("ThreadID"), 32))
		case "Channel":
			ev.Channel = t
		case "Computer":
			ev.Computer = t
		case "Security":
			ev.UserSID = c.Attr("UserID")
		}
	}
}

// fillEventData keeps every Data value, empty ones included, because an
// unnamed list's position is its meaning (%1, %2…).
func fillEventData(ev *Event, ed *Node) {
	named := 0
	for _, d := range ed.Children {
		if d.Attr("Name") != "" {
			named++
		}
	}
	if named > 0 && ev.Data == nil {
		ev.Data = make(map[string]string, named)
	}
	if ev.Params == nil {
		ev.Params = make([]string, 0, len(ed.Children))
	}
	for _, d := range ed.Children {
		if localName(d.Name) != "Data" {
			continue
		}
		v := nodeText(d)
		if name := d.Attr("Name"); name != "" {
			ev.setData(name, v)
		}
		ev.Params = append(ev.Params, v)
	}
}

// fillUserData reads the children of UserData/<Element> in order: their
// text is the payload (the contract every reader of Params shares).
// Attribute values of UserData elements are not payload values here; they
// stay in Tree for XML().
func fillUserData(ev *Event, ud *Node) {
	for _, el := range ud.Children {
		for _, d := range el.Children {
			v := nodeText(d)
			ev.setData(localName(d.Name), v)
			ev.Params = append(ev.Params, v)
		}
	}
}

// nodeText is an element's text, or — for a value that is itself markup
// (embedded BinXml) — its children rendered as XML.
func nodeText(n *Node) string {
	if len(n.Children) == 0 {
		return n.Text
	}
	b := appendEscaped(nil, n.Text, false, false)
	for _, c := range n.Children {
		b = appendNode(b, c, false)
	}
	return string(b)
}

func (ev *Event) setData(name, v string) {
	if ev.Data == nil {
		ev.Data = make(map[string]string, 8)
	}
	ev.Data[name] = v
}

// parseUint reads decimal or 0x-prefixed hex; bad text reads as 0.
func parseUint(s string, bits int) uint64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	base := 10
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s, base = s[2:], 16
	}
	n, err := strconv.ParseUint(s, base, bits)
	if err != nil {
		return 0
	}
	return n
}

var systemTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseSystemTime accepts Windows' ISO form and the space-separated form
// some exporters (python-evtx) write; times without a zone are UTC.
func parseSystemTime(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, l := range systemTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
