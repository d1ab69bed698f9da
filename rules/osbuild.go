package rules

import (
	"strconv"
	"strings"
)

// BuildEvents are the events a host's OS build is read from: EventLog 6009,
// logged at every boot with "the operating system version, build number,
// service pack level" (Microsoft, "Why Windows NT Reports 6005, 6006, 6008,
// and 6009 Event Log Entries", https://support.microsoft.com/help/196452),
// whose message reads "Microsoft (R) Windows (R) <version> <build> <service
// pack> <kind>." — the build is the second insertion string. Every set's
// Filter keeps them for the decoder, so the steps of a finding can be chosen
// for the host's own Windows version.
var BuildEvents = []EventRef{{Provider: "eventlog", ID: 6009}}

// BuildOf reads the OS build an event reveals, if any.
func BuildOf(provider string, id uint16, params []string) (int, bool) {
	if id != 6009 || !strings.EqualFold(provider, "EventLog") || len(params) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(params[1]))
	if err != nil || n < 1000 || n > 99999 {
		return 0, false
	}
	return n, true
}
