package evt

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/tsdiag/tsdiag/evtx"
)

const eventNS = "http://schemas.microsoft.com/win/2004/08/events/event"

// tree builds the XML shape Windows Vista and later render for a classic
// event, so XML output and rules see one shape whatever the source format.
func tree(ev *evtx.Event, data []byte) *evtx.Node {
	eventID := &evtx.Node{Name: "EventID", Text: strconv.Itoa(int(ev.EventID)),
		Attrs: []evtx.Attr{{Name: "Qualifiers", Value: strconv.Itoa(int(ev.Qualifiers))}}}
	sys := &evtx.Node{Name: "System", Children: []*evtx.Node{
		{Name: "Provider", Attrs: []evtx.Attr{{Name: "Name", Value: ev.Provider}}},
		eventID,
		text("Level", strconv.Itoa(int(ev.Level))),
		text("Task", strconv.Itoa(int(ev.Task))),
		text("Keywords", "0x"+strconv.FormatUint(ev.Keywords, 16)),
		{Name: "TimeCreated", Attrs: []evtx.Attr{{Name: "SystemTime", Value: ev.TimeCreated.Format("2006-01-02T15:04:05.0000000Z")}}},
		text("EventRecordID", strconv.FormatUint(ev.RecordID, 10)),
		text("Channel", ev.Channel),
		text("Computer", ev.Computer),
		security(ev.UserSID),
	}}
	ed := &evtx.Node{Name: "EventData"}
	for _, p := range ev.Params {
		ed.Children = append(ed.Children, text("Data", p))
	}
	if len(data) > 0 {
		ed.Children = append(ed.Children, text("Binary", strings.ToUpper(hex.EncodeToString(data))))
	}
	return &evtx.Node{Name: "Event", Attrs: []evtx.Attr{{Name: "xmlns", Value: eventNS}},
		Children: []*evtx.Node{sys, ed}}
}

func text(name, value string) *evtx.Node { return &evtx.Node{Name: name, Text: value} }

func security(sid string) *evtx.Node {
	n := &evtx.Node{Name: "Security"}
	if sid != "" {
		n.Attrs = []evtx.Attr{{Name: "UserID", Value: sid}}
	}
	return n
}
