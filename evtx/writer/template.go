package writer

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// template is a template definition: its tree and its identity.
type template struct {
	key  string
	guid [16]byte
	id   uint32 // the first four bytes of the GUID, as Windows writes it
	root *tnode
}

func newTemplate(key string, root *tnode) *template {
	sum := sha1.Sum([]byte(key))
	t := &template{key: key, root: root}
	copy(t.guid[:], sum[:16])
	t.id = binary.LittleEndian.Uint32(t.guid[:4])
	return t
}

// Substitution indexes of the System part; payload values follow.
const (
	subProvider = iota
	subGUID
	subSourceName
	subEventID
	subQualifiers
	subVersion
	subLevel
	subTask
	subOpcode
	subKeywords
	subTime
	subRecordID
	subActivity
	subRelated
	subPID
	subTID
	subChannel
	subComputer
	subUser
	subPayload
)

const eventNS = "http://schemas.microsoft.com/win/2004/08/events/event"

func systemTree() titem {
	return elem("System",
		elem("Provider").with(
			attr("Name", sub(subProvider, TypeString)),
			attr("Guid", optSub(subGUID, TypeGUID)),
			attr("EventSourceName", optSub(subSourceName, TypeString))),
		elem("EventID", sub(subEventID, TypeUint16)).with(
			attr("Qualifiers", optSub(subQualifiers, TypeUint16))),
		elem("Version", sub(subVersion, TypeUint8)),
		elem("Level", sub(subLevel, TypeUint8)),
		elem("Task", sub(subTask, TypeUint16)),
		elem("Opcode", sub(subOpcode, TypeUint8)),
		elem("Keywords", sub(subKeywords, TypeHex64)),
		elem("TimeCreated").with(attr("SystemTime", sub(subTime, TypeFileTime))),
		elem("EventRecordID", sub(subRecordID, TypeUint64)),
		elem("Correlation").with(
			attr("ActivityID", optSub(subActivity, TypeGUID)),
			attr("RelatedActivityID", optSub(subRelated, TypeGUID))),
		elem("Execution").with(
			attr("ProcessID", sub(subPID, TypeUint32)),
			attr("ThreadID", sub(subTID, TypeUint32))),
		elem("Channel", sub(subChannel, TypeString)),
		elem("Computer", sub(subComputer, TypeString)),
		elem("Security").with(attr("UserID", optSub(subUser, TypeSID))),
	)
}

// payloadTree is the payload part of the record template.
func payloadTree(p Payload) []titem {
	switch p.Shape {
	case Named:
		return []titem{elem("EventData", dataItems(p, true)...)}
	case Unnamed:
		return []titem{elem("EventData", dataItems(p, false)...)}
	case Classic:
		return []titem{optSub(subPayload, TypeBinXml)}
	case UserData:
		if len(p.Values) == 0 {
			// A manifest event without data has no template data and so
			// no UserData element.
			return nil
		}
		inner := elem(p.element(), dataItems(p, true)...).with(attr("xmlns", text(p.namespace())))
		return []titem{elem("UserData", inner)}
	}
	return nil
}

func dataItems(p Payload, named bool) []titem {
	var out []titem
	for i, v := range p.Values {
		// Optional, as Windows marks template data: a Null value then
		// drops out instead of breaking readers such as libevtx.
		s := optSub(subPayload+i, declaredType(v))
		switch {
		case p.Shape == UserData:
			out = append(out, elem(p.Names[i], s))
		case named:
			out = append(out, elem("Data", s).with(attr("Name", text(p.Names[i]))))
		default:
			out = append(out, elem("Data", s))
		}
	}
	return out
}

func declaredType(v Value) ValueType {
	if v.Type == TypeNull {
		return TypeString
	}
	return v.Type
}

func (p Payload) element() string {
	if p.Element == "" {
		return "EventXML"
	}
	return p.Element
}

func (p Payload) namespace() string {
	if p.Namespace == "" {
		return "Event_NS"
	}
	return p.Namespace
}

// templateKey names a record template by everything that shapes it.
func templateKey(p Payload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event/%d/%s/%s", p.Shape, p.element(), p.namespace())
	for i, v := range p.Values {
		if p.Shape == Classic {
			break
		}
		name := ""
		if i < len(p.Names) {
			name = p.Names[i]
		}
		fmt.Fprintf(&b, "/%s:%02x", name, uint8(declaredType(v)))
	}
	return b.String()
}

// templates caches record templates across chunks; a chunk defines each
// one again the first time it uses it.
type templateCache struct {
	mu sync.Mutex
	m  map[string]*template
}

func (tc *templateCache) get(p Payload) *template {
	key := templateKey(p)
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if t, ok := tc.m[key]; ok {
		return t
	}
	kids := append([]titem{systemTree()}, payloadTree(p)...)
	root := elem("Event", kids...).with(attr("xmlns", text(eventNS)))
	t := newTemplate(key, root.node)
	if tc.m == nil {
		tc.m = map[string]*template{}
	}
	tc.m[key] = t
	return t
}

// classicTemplate is the nested EventData template of ReportEvent events.
var classicTemplate = newTemplate("classic-eventdata", elem("EventData",
	elem("Data", optSub(0, TypeString|ArrayFlag)).dependsOn(0),
	elem("Binary", optSub(1, TypeBinary)).dependsOn(1),
).node)

// recordValues lists the substitution values of r in index order.
func recordValues(r Record) []Value {
	v := make([]Value, subPayload, subPayload+len(r.Payload.Values))
	v[subProvider] = String(r.Provider)
	v[subGUID] = optional(r.ProviderGUID, GUID)
	v[subSourceName] = optional(r.EventSourceName, String)
	v[subEventID] = Uint16(r.EventID)
	if r.Qualifiers != 0 || r.Payload.Shape == Classic {
		v[subQualifiers] = Uint16(r.Qualifiers)
	}
	v[subVersion] = Uint8(r.Version)
	v[subLevel] = Uint8(r.Level)
	v[subTask] = Uint16(r.Task)
	v[subOpcode] = Uint8(r.Opcode)
	v[subKeywords] = Hex64(r.Keywords)
	v[subTime] = FileTime(r.TimeCreated)
	v[subRecordID] = Uint64(r.RecordID)
	v[subActivity] = optional(r.ActivityID, GUID)
	v[subPID] = Uint32(r.ProcessID)
	v[subTID] = Uint32(r.ThreadID)
	v[subChannel] = String(r.Channel)
	v[subComputer] = String(r.Computer)
	v[subUser] = optional(r.UserSID, SID)
	if r.Payload.Shape == Classic {
		return append(v, classicValue(r.Payload))
	}
	return append(v, r.Payload.Values...)
}

func optional(s string, f func(string) Value) Value {
	if s == "" {
		return Null()
	}
	return f(s)
}

func classicValue(p Payload) Value {
	strs := Null()
	if len(p.Values) > 0 {
		strs = ArrayOf(TypeString, p.Values...)
	}
	bin := Null()
	if p.Binary != nil {
		bin = Binary(p.Binary)
	}
	return Value{Type: TypeBinXml, classic: []Value{strs, bin}}
}
