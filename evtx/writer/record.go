package writer

import (
	"fmt"
	"time"
)

// Record is one event to write: the System fields plus a payload.
type Record struct {
	Provider        string // Provider/@Name
	ProviderGUID    string // Provider/@Guid, "" for none
	EventSourceName string // Provider/@EventSourceName, "" for none
	EventID         uint16
	Qualifiers      uint16 // written when non-zero, and always for Classic payloads
	Version         uint8
	Level           uint8
	Task            uint16
	Opcode          uint8
	Keywords        uint64
	TimeCreated     time.Time
	RecordID        uint64 // 0: one past the previous record
	ActivityID      string // "" for none
	ProcessID       uint32
	ThreadID        uint32
	Channel         string
	Computer        string
	UserSID         string // "" for none
	Payload         Payload
}

// Shape is where an event carries its parameters.
type Shape uint8

const (
	// NoPayload: no EventData or UserData element at all.
	NoPayload Shape = iota
	// Named: <EventData><Data Name="n">v</Data>… (manifest providers).
	Named
	// Unnamed: <EventData><Data>v</Data>… one typed value per element.
	Unnamed
	// Classic: the ReportEvent form Windows uses for classic sources: the
	// EventData element is a nested BinXml value whose single <Data>
	// substitution is a string array (one <Data> per string) plus <Binary>.
	Classic
	// UserData: <UserData><Element xmlns="ns"><Name>v</Name>…</Element></UserData>.
	UserData
)

// Payload is an event's parameter block. Values[i] is %(i+1).
type Payload struct {
	Shape     Shape
	Names     []string // Data names (Named) or child element names (UserData)
	Values    []Value
	Element   string // UserData wrapper element; default "EventXML"
	Namespace string // UserData wrapper xmlns; default "Event_NS" (RCM, LSM)
	Binary    []byte // Classic only: the <Binary> element, nil for none
}

// NamedData pairs names with values: NamedData("param1", String("x"), …).
func NamedData(pairs ...any) Payload {
	p := Payload{Shape: Named}
	for i := 0; i+1 < len(pairs); i += 2 {
		name, _ := pairs[i].(string)
		v, _ := pairs[i+1].(Value)
		p.Names = append(p.Names, name)
		p.Values = append(p.Values, v)
	}
	return p
}

// UnnamedData is <EventData> with one <Data> per value.
func UnnamedData(vals ...Value) Payload { return Payload{Shape: Unnamed, Values: vals} }

// ClassicData is the ReportEvent shape of classic sources.
func ClassicData(strs ...string) Payload {
	p := Payload{Shape: Classic}
	for _, s := range strs {
		p.Values = append(p.Values, String(s))
	}
	return p
}

// EventXML is the UserData shape of RCM and LSM: <EventXML xmlns="Event_NS">
// with children Param1…ParamN.
func EventXML(vals ...Value) Payload {
	p := Payload{Shape: UserData, Values: vals}
	for i := range vals {
		p.Names = append(p.Names, fmt.Sprintf("Param%d", i+1))
	}
	return p
}

// Element is a small XML tree carried in a BinXml value.
type Element struct {
	Name     string
	Attrs    []Attr
	Children []Element
	Text     string
}

// Attr is an attribute of an Element.
type Attr struct{ Name, Value string }

// Params renders the payload values in order the way a decoder's
// Event.Params holds them (array elements expanded).
func (p Payload) Params() []string {
	var out []string
	for _, v := range p.Values {
		if p.Shape == Classic || v.Type&ArrayFlag == 0 {
			out = append(out, v.Text())
			continue
		}
		out = append(out, v.Texts()...)
	}
	return out
}

// Data renders the named payload values (Data/@Name or UserData children)
// the way a decoder's Event.Data holds them; nil for unnamed shapes.
func (p Payload) Data() map[string]string {
	if (p.Shape != Named && p.Shape != UserData) || len(p.Values) == 0 {
		return nil
	}
	m := map[string]string{}
	for i, n := range p.Names {
		if i < len(p.Values) {
			m[n] = p.Values[i].Text()
		}
	}
	return m
}

func (p Payload) validate() error {
	if (p.Shape == Named || p.Shape == UserData) && len(p.Names) != len(p.Values) {
		return fmt.Errorf("payload has %d names for %d values", len(p.Names), len(p.Values))
	}
	for i, v := range p.Values {
		if v.err != nil {
			return fmt.Errorf("payload value %d: %w", i+1, v.err)
		}
		if p.Shape == Classic && v.Type != TypeString {
			return fmt.Errorf("classic payload value %d is not a string", i+1)
		}
	}
	return nil
}
