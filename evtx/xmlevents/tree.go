package xmlevents

import (
	"strconv"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
)

// fromTree normalizes an <Event> tree.
//
// TODO(lead): switch to evtx.EventFromTree once the decoder package exports
// it, so EVTX and XML normalize through one function.
var fromTree = normalize

func normalize(root *evtx.Node) *evtx.Event {
	ev := &evtx.Event{Tree: root}
	if sys := find(root, "System"); sys != nil {
		system(ev, sys)
	}
	for _, c := range root.Children {
		switch c.Name {
		case "EventData":
			for _, d := range c.Children {
				if d.Name != "Data" {
					continue
				}
				if name := attr(d, "Name"); name != "" {
					setData(ev, name, d.Text)
				}
				ev.Params = append(ev.Params, d.Text)
			}
		case "UserData":
			for _, el := range c.Children {
				for _, d := range el.Children {
					setData(ev, d.Name, d.Text)
					ev.Params = append(ev.Params, d.Text)
				}
			}
		}
	}
	return ev
}

func setData(ev *evtx.Event, name, value string) {
	if ev.Data == nil {
		ev.Data = map[string]string{}
	}
	ev.Data[name] = value
}

func system(ev *evtx.Event, sys *evtx.Node) {
	for _, c := range sys.Children {
		t := strings.TrimSpace(c.Text)
		switch c.Name {
		case "Provider":
			ev.Provider = attr(c, "Name")
			if ev.Provider == "" {
				ev.Provider = attr(c, "EventSourceName")
			}
			ev.ProviderGUID = attr(c, "Guid")
		case "EventID":
			ev.EventID = uint16(num(t))
			ev.Qualifiers = uint16(num(attr(c, "Qualifiers")))
		case "Version":
			ev.Version = uint8(num(t))
		case "Level":
			ev.Level = uint8(num(t))
		case "Task":
			ev.Task = uint16(num(t))
		case "Opcode":
			ev.Opcode = uint8(num(t))
		case "Keywords":
			ev.Keywords = num(t)
		case "TimeCreated":
			ev.TimeCreated = parseTime(attr(c, "SystemTime"))
		case "EventRecordID":
			ev.RecordID = num(t)
		case "Execution":
			ev.ProcessID = uint32(num(attr(c, "ProcessID")))
			ev.ThreadID = uint32(num(attr(c, "ThreadID")))
		case "Channel":
			ev.Channel = t
		case "Computer":
			ev.Computer = t
		case "Security":
			ev.UserSID = attr(c, "UserID")
		}
	}
}

func num(s string) uint64 {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	return v
}

func find(n *evtx.Node, name string) *evtx.Node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func attr(n *evtx.Node, name string) string {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// parseTime reads SystemTime as Windows writes it (RFC 3339) or as
// python-evtx writes it ("2018-07-06 18:37:44.881628", UTC).
func parseTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
