package live

import (
	"errors"
	"fmt"
	"syscall"
)

// Action is what the subscription loop does about an error from the event
// log API.
type Action int

const (
	// Fatal ends live (exit 2; as a service, the recovery actions restart it).
	Fatal Action = iota
	// NoMoreItems means nothing is waiting: poll again later.
	NoMoreItems
	// Resubscribe closes the subscription and opens it again from the
	// in-memory bookmark, after a backoff: the log was cleared or wrapped,
	// or the EventLog service restarted under the subscription.
	Resubscribe
	// BookmarkGone means a strict resume found no bookmarked record (the
	// log was cleared or wrapped while tsdiag was stopped): replay a bounded
	// window instead, de-duplicated by record id.
	BookmarkGone
	// ChannelMissing means the channel does not exist on this machine (a
	// session host has no Licensing channels): it is left out and reported.
	ChannelMissing
	// ChannelDenied means the channel exists but this account may not read
	// it: left out and reported.
	ChannelDenied
	// BadQuery means the service rejected the query: retried once with
	// providers only.
	BadQuery
)

func (a Action) String() string {
	switch a {
	case NoMoreItems:
		return "no more items"
	case Resubscribe:
		return "recoverable: resubscribe"
	case BookmarkGone:
		return "bookmark gone: bounded replay"
	case ChannelMissing:
		return "channel missing"
	case ChannelDenied:
		return "channel access denied"
	case BadQuery:
		return "query rejected"
	}
	return "fatal"
}

// Code is one Windows error code the loop knows, with where it is
// documented. Codes are listed, not guessed: anything else is Fatal, so an
// unknown failure stops visibly (and a service restarts through its
// recovery actions) instead of spinning.
type Code struct {
	Code   uint32
	Name   string
	Action Action
	Source string
}

// Sources cited below:
//   - System Error Codes (0-499), (4000-5999), (6000-8199):
//     https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes
//   - Windows Event Log error constants:
//     https://learn.microsoft.com/en-us/windows/win32/wes/windows-event-log-error-constants
//   - EVT_SUBSCRIBE_FLAGS (EvtSubscribeStrict returns ERROR_NOT_FOUND):
//     https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_subscribe_flags
//   - EvtNext: https://learn.microsoft.com/en-us/windows/win32/api/winevt/nf-winevt-evtnext
const (
	srcSysErr  = "System Error Codes, https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes"
	srcEvtErr  = "Windows Event Log Error Constants, https://learn.microsoft.com/en-us/windows/win32/wes/windows-event-log-error-constants"
	srcStrict  = "EVT_SUBSCRIBE_FLAGS enumeration, https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_subscribe_flags"
	srcBeats   = "not documented by Microsoft for EvtNext; winlogbeat and pywin32 treat it so (mhammond/pywin32 PR #1648, elastic/beats winlogbeat/sys/wineventlog)"
	srcBeatsRc = "recoverable as in winlogbeat's IsRecoverable (elastic/beats winlogbeat/eventlog/errors_windows.go; PR #28191)"
)

// Codes is the classifier's table.
var Codes = []Code{
	{5, "ERROR_ACCESS_DENIED", ChannelDenied, srcSysErr},
	{6, "ERROR_INVALID_HANDLE", Resubscribe, srcSysErr + "; " + srcBeatsRc},
	{87, "ERROR_INVALID_PARAMETER", Resubscribe, srcSysErr + "; " + srcBeatsRc + " (elastic/beats PR #39781: EvtNext under load during log backup)"},
	{259, "ERROR_NO_MORE_ITEMS", NoMoreItems, srcSysErr + "; EvtNext"},
	{1168, "ERROR_NOT_FOUND", BookmarkGone, srcStrict},
	{1460, "ERROR_TIMEOUT", NoMoreItems, srcSysErr + "; EvtNext with a timeout"},
	{1717, "RPC_S_UNKNOWN_IF", Resubscribe, srcSysErr + "; the EventLog service is not (yet) serving: unconfirmed as a transient state"},
	{1722, "RPC_S_SERVER_UNAVAILABLE", Resubscribe, srcSysErr + "; " + srcBeatsRc},
	{1726, "RPC_S_CALL_FAILED", Resubscribe, srcSysErr + "; unconfirmed as a transient state"},
	{1753, "EPT_S_NOT_REGISTERED", Resubscribe, srcSysErr + "; the EventLog service's endpoint is not registered yet (service restarting): unconfirmed"},
	{1818, "RPC_S_CALL_CANCELLED", Resubscribe, srcSysErr + "; " + srcBeatsRc},
	{4317, "ERROR_INVALID_OPERATION", NoMoreItems, srcSysErr + "; " + srcBeats},
	{15000, "ERROR_EVT_INVALID_CHANNEL_PATH", ChannelMissing, srcEvtErr},
	{15001, "ERROR_EVT_INVALID_QUERY", BadQuery, srcEvtErr},
	{15007, "ERROR_EVT_CHANNEL_NOT_FOUND", ChannelMissing, srcEvtErr},
	{15011, "ERROR_EVT_QUERY_RESULT_STALE", Resubscribe, srcEvtErr + " (\"release the query result object and reissue the query\")"},
	{15012, "ERROR_EVT_QUERY_RESULT_INVALID_POSITION", Resubscribe, srcEvtErr + " (\"the cursor for the query result is not pointing to a valid position\"; resubscribing from the bookmark as for 15011 is tsdiag's choice, unconfirmed)"},
	{15026, "ERROR_EVT_FILTER_TOO_COMPLEX", BadQuery, srcEvtErr + " (\"split it into two or more simple expressions\": the provider-only query is that)"},
	{15027, "ERROR_EVT_MESSAGE_NOT_FOUND", Fatal, srcEvtErr + " (not expected: tsdiag renders XML, not messages)"},
	{15036, "ERROR_EVT_CANNOT_OPEN_CHANNEL_OF_QUERY", ChannelDenied, srcEvtErr},
}

// ErrorCode returns the Windows error code err carries, if any. On Windows
// golang.org/x/sys/windows.Errno is syscall.Errno, so this works on the
// errors the API calls return and, in tests, on any platform.
func ErrorCode(err error) (uint32, bool) {
	var en syscall.Errno
	if errors.As(err, &en) {
		return uint32(en), true
	}
	return 0, false
}

// Classify says what to do about err.
func Classify(err error) Action {
	if err == nil {
		return NoMoreItems
	}
	code, ok := ErrorCode(err)
	if !ok {
		return Fatal
	}
	for _, c := range Codes {
		if c.Code == code {
			return c.Action
		}
	}
	return Fatal
}

// CodeName names a Windows error code for messages ("15011
// ERROR_EVT_QUERY_RESULT_STALE"), or just the number.
func CodeName(err error) string {
	code, ok := ErrorCode(err)
	if !ok {
		return ""
	}
	for _, c := range Codes {
		if c.Code == code {
			return fmt.Sprintf("%d %s", code, c.Name)
		}
	}
	return fmt.Sprint(code)
}
