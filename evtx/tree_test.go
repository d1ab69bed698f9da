package evtx

import (
	"encoding/xml"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// xmlTree parses an XML document into a Node tree with encoding/xml, an
// independent reader, so EventFromTree is tested on text Windows writes.
func xmlTree(t *testing.T, doc string) *Node {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	var stack []*Node
	var root *Node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			n := &Node{Name: tk.Name.Local}
			for _, a := range tk.Attr {
				name := a.Name.Local
				if a.Name.Space == "xmlns" {
					name = "xmlns:" + name // namespace declarations keep their prefix
				}
				n.Attrs = append(n.Attrs, Attr{name, a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && strings.TrimSpace(string(tk)) != "" {
				stack[len(stack)-1].Text += string(tk)
			}
		}
	}
}

const classicXML = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>
<Provider Name='TermService'/><EventID Qualifiers='49152'>1004</EventID><Level>2</Level><Task>0</Task>
<Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='2009-03-01T10:11:12.123456700Z'/>
<EventRecordID>4711</EventRecordID><Channel>System</Channel><Computer>TS01.corp.local</Computer><Security/></System>
<EventData><Data>CLIENT7</Data><Data></Data><Data>third</Data><Binary>00AA</Binary></EventData></Event>`

func TestEventFromTreeClassicUnnamed(t *testing.T) {
	ev := EventFromTree(xmlTree(t, classicXML))
	if ev.Provider != "TermService" || ev.EventID != 1004 || ev.Qualifiers != 49152 || ev.Level != 2 {
		t.Fatalf("system fields: %+v", ev)
	}
	if ev.Keywords != 0x80000000000000 || ev.RecordID != 4711 || ev.Channel != "System" || ev.Computer != "TS01.corp.local" {
		t.Fatalf("system fields: %+v", ev)
	}
	want := time.Date(2009, 3, 1, 10, 11, 12, 123456700, time.UTC)
	if !ev.TimeCreated.Equal(want) || ev.TimeCreated.Location() != time.UTC {
		t.Fatalf("time %v", ev.TimeCreated)
	}
	if !reflect.DeepEqual(ev.Params, []string{"CLIENT7", "", "third"}) {
		t.Fatalf("params %q (empty unnamed Data must keep its position)", ev.Params)
	}
	if ev.Param(3) != "third" || ev.Param(4) != "" || len(ev.Data) != 0 {
		t.Fatalf("param/data: %q %v", ev.Param(3), ev.Data)
	}
}

const rcmXML = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>
<Provider Name="Microsoft-Windows-TerminalServices-RemoteConnectionManager" Guid="{C76BAA63-AE81-421C-B425-340B4B24157F}"/>
<EventID>1128</EventID><Version>0</Version><Level>3</Level><Task>0</Task><Opcode>0</Opcode>
<Keywords>0x1000000000000000</Keywords><TimeCreated SystemTime="2019-02-13 15:45:47.962491"/>
<EventRecordID>12</EventRecordID><Correlation/><Execution ProcessID="988" ThreadID="1234"/>
<Channel>Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin</Channel><Computer>rdsh</Computer>
<Security UserID="S-1-5-20"/></System>
<UserData><EventXML xmlns="Event_NS"><Param1>15</Param1><Param2>expires</Param2></EventXML></UserData></Event>`

func TestEventFromTreeUserData(t *testing.T) {
	ev := EventFromTree(xmlTree(t, rcmXML))
	if ev.ProviderGUID != "{C76BAA63-AE81-421C-B425-340B4B24157F}" || ev.EventID != 1128 || ev.Level != 3 {
		t.Fatalf("%+v", ev)
	}
	if ev.ProcessID != 988 || ev.ThreadID != 1234 || ev.UserSID != "S-1-5-20" || ev.Keywords != 0x1000000000000000 {
		t.Fatalf("%+v", ev)
	}
	if ev.TimeCreated != time.Date(2019, 2, 13, 15, 45, 47, 962491000, time.UTC) {
		t.Fatalf("python-evtx time form: %v", ev.TimeCreated)
	}
	if !reflect.DeepEqual(ev.Params, []string{"15", "expires"}) || ev.Data["Param1"] != "15" || ev.Data["Param2"] != "expires" {
		t.Fatalf("userdata: %q %v", ev.Params, ev.Data)
	}
}

func TestEventFromTreeNamedAndSourceName(t *testing.T) {
	doc := `<Event><System><Provider Name="" EventSourceName="Service Control Manager"/><EventID Qualifiers="16384">7036</EventID></System>
<EventData><Data Name="param1">Remote Desktop Services</Data><Data Name="param2">running</Data></EventData></Event>`
	ev := EventFromTree(xmlTree(t, doc))
	if ev.Provider != "Service Control Manager" || ev.EventID != 7036 || ev.Qualifiers != 16384 {
		t.Fatalf("%+v", ev)
	}
	if ev.Data["param1"] != "Remote Desktop Services" || ev.Param(2) != "running" {
		t.Fatalf("%q %v", ev.Params, ev.Data)
	}
}

func TestXMLRoundTripThroughTree(t *testing.T) {
	for _, doc := range []string{classicXML, rcmXML} {
		ev := EventFromTree(xmlTree(t, doc))
		again := EventFromTree(xmlTree(t, ev.XML()))
		again.Tree, ev.Tree = nil, nil
		if !reflect.DeepEqual(ev, again) {
			t.Fatalf("XML() from tree lost fields:\n%+v\n%+v", ev, again)
		}
		// From fields only (no tree): system fields and params survive.
		ev2 := *ev
		fromFields := EventFromTree(xmlTree(t, ev2.XML()))
		if fromFields.EventID != ev.EventID || fromFields.Provider != ev.Provider ||
			!fromFields.TimeCreated.Equal(ev.TimeCreated) || !reflect.DeepEqual(fromFields.Params, ev.Params) {
			t.Fatalf("XML() from fields: %+v vs %+v", fromFields, ev)
		}
	}
}

func TestEventFromTreeUserDataAttributes(t *testing.T) {
	doc := `<Event><System><Provider Name="Microsoft-Windows-DriverFrameworks-UserMode"/><EventID>10000</EventID></System>
<UserData><UMDFServiceInstall upgrade="false" xmlns="http://www.microsoft.com/DriverFrameworks/UserMode/Event">
<Service clsid="{112DE495-AC4C-46F8-B663-6A4266C53313}" name="WpdFs"/><MinimumFxVersion>2.21.0</MinimumFxVersion>
</UMDFServiceInstall></UserData></Event>`
	ev := EventFromTree(xmlTree(t, doc))
	// Children's text in order; attribute values stay in the tree only.
	if want := []string{"", "2.21.0"}; !reflect.DeepEqual(ev.Params, want) {
		t.Fatalf("params %q, want %q", ev.Params, want)
	}
	if ev.Data["MinimumFxVersion"] != "2.21.0" || !strings.Contains(ev.XML(), "clsid='{112DE495-AC4C-46F8-B663-6A4266C53313}'") {
		t.Fatalf("data %v, xml %s", ev.Data, ev.XML())
	}
}
