package scenario

import (
	"fmt"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// Provider names and GUIDs as Windows writes them (kb-reference.md §0 [K3]
// and the corpus System logs).
const (
	ProviderRCM       = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"
	GUIDRCM           = "{c76baa63-ae81-421c-b425-340b4b24157f}"
	ProviderLicensing = "Microsoft-Windows-TerminalServices-Licensing"
	ProviderLSM       = "Microsoft-Windows-TerminalServices-LocalSessionManager"
	GUIDLSM           = "{5d896912-022d-4aa5-a3a4-de6e6f1e4c6a}"
	ProviderSCM       = "Service Control Manager"
	GUIDSCM           = "{555908d1-a6d7-4695-8e1e-26931d2012f4}"

	channelRCMOperational = ProviderRCM + "/Operational"
	channelRCMAdmin       = ProviderRCM + "/Admin"
	channelLSMOperational = ProviderLSM + "/Operational"
)

// source is how one kind of event source writes its records: provider
// attributes, payload shape and defaults.
type source struct {
	provider, guid, sourceName string
	shape                      writer.Shape
	qualifiers                 uint16
	keywords                   uint64
	user                       string
	channel                    func(id uint16) string
	names                      func(id uint16, n int) []string
}

func system(uint16) string { return "System" }

// rcmChannel follows the manifest channels listed in kb-reference.md §1b;
// IDs whose channel is uncertain go to System, where the provider's classic
// log is.
func rcmChannel(id uint16) string {
	switch id {
	case 1003, 1004, 1011, 1149, 261, 1158:
		return channelRCMOperational
	case 1068, 1069:
		return channelRCMAdmin
	}
	return "System"
}

func paramNames(prefix string) func(uint16, int) []string {
	return func(_ uint16, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i+1)
		}
		return out
	}
}

// lsmNames are the UserData children of LocalSessionManager events
// (kb-reference.md §1d [W3]).
func lsmNames(id uint16, n int) []string {
	names := []string{"User", "SessionID", "Address"}
	if id == 40 {
		names = []string{"Session", "Reason"}
	}
	if n < len(names) {
		return names[:n]
	}
	return names
}

var sources = map[string]source{
	// Windows 2000/2003 classic sources: unnamed Data, ReportEvent form.
	"termservice":       {provider: "TermService", shape: writer.Classic, keywords: 0x80000000000000, channel: system},
	"termservlicensing": {provider: "TermServLicensing", shape: writer.Classic, keywords: 0x80000000000000, channel: system},
	"scm-classic":       {provider: ProviderSCM, shape: writer.Classic, qualifiers: 16384, keywords: 0x80000000000000, channel: system},
	"eventlog":          {provider: "EventLog", shape: writer.Classic, qualifiers: 32768, keywords: 0x80000000000000, channel: system},
	// 2008+ manifest RCM: UserData/EventXML/ParamN.
	"rcm": {provider: ProviderRCM, guid: GUIDRCM, shape: writer.UserData, keywords: 0x1000000000000000,
		user: "S-1-5-20", channel: rcmChannel, names: paramNames("Param")},
	// 2008 R2–2016 RCM events with legacy 32-bit message IDs, in the
	// shape kb-reference.md marks UNCERTAIN: unnamed EventData with
	// Qualifiers 49152 and EventSourceName TermService.
	"rcm-legacy": {provider: ProviderRCM, guid: GUIDRCM, sourceName: "TermService", shape: writer.Unnamed,
		qualifiers: 49152, keywords: 0x80000000000000, channel: system},
	// License server (2008+): %1!s! inserts as named param1… (UNCERTAIN in
	// the reference; the detection-wiki renders them so).
	"licensing": {provider: ProviderLicensing, shape: writer.Named, keywords: 0x80000000000000,
		channel: licensingChannel, names: paramNames("param")},
	"scm": {provider: ProviderSCM, guid: GUIDSCM, sourceName: ProviderSCM, shape: writer.Named,
		qualifiers: 16384, keywords: 0x8080000000000000, channel: system, names: paramNames("param")},
	"lsm": {provider: ProviderLSM, guid: GUIDLSM, shape: writer.UserData, keywords: 0x1000000000000000,
		user: "S-1-5-18", channel: func(uint16) string { return channelLSMOperational }, names: lsmNames},
}

func licensingChannel(id uint16) string {
	if id == 20 {
		return "Microsoft-Windows-TerminalServices-Licensing/Operational"
	}
	return "System"
}

// payload builds the source's payload shape around string params.
func (s source) payload(id uint16, params, names []string) writer.Payload {
	vals := make([]writer.Value, len(params))
	for i, p := range params {
		vals[i] = writer.String(p)
	}
	switch s.shape {
	case writer.Classic:
		return writer.ClassicData(params...)
	case writer.Unnamed:
		return writer.UnnamedData(vals...)
	}
	if names == nil && s.names != nil {
		names = s.names(id, len(params))
	}
	return writer.Payload{Shape: s.shape, Names: names, Values: vals}
}
