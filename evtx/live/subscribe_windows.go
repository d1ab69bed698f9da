//go:build windows

package live

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// This file is the thin Windows layer: each method is one or two wevtapi
// calls, and every error is returned as the windows.Errno the API gave,
// for Classify (classify.go) to decide on. It has not run on Windows in
// this project's CI yet (see docs/live.md).
//
// The event log API (wevtapi.dll) is called directly: x/sys/windows has no
// wrappers for it. Functions (all in "Windows Event Log Reference",
// https://learn.microsoft.com/en-us/windows/win32/wes/windows-event-log-reference):
// EvtSubscribe, EvtQuery, EvtNext, EvtRender, EvtClose, EvtCreateBookmark,
// EvtUpdateBookmark.
var (
	wevtapi               = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtSubscribe      = wevtapi.NewProc("EvtSubscribe")
	procEvtQuery          = wevtapi.NewProc("EvtQuery")
	procEvtNext           = wevtapi.NewProc("EvtNext")
	procEvtRender         = wevtapi.NewProc("EvtRender")
	procEvtClose          = wevtapi.NewProc("EvtClose")
	procEvtCreateBookmark = wevtapi.NewProc("EvtCreateBookmark")
	procEvtUpdateBookmark = wevtapi.NewProc("EvtUpdateBookmark")
)

const (
	// EVT_SUBSCRIBE_FLAGS,
	// https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_subscribe_flags.
	// EvtSubscribeTolerateQueryErrors (0x1000) is deliberately not used: it
	// keeps only the leftmost valid part of a query, silently, and hides
	// channels that do not exist. Channels are probed instead (Probe).
	evtSubscribeToFutureEvents      = 1
	evtSubscribeStartAtOldestRecord = 2
	evtSubscribeStartAfterBookmark  = 3
	evtSubscribeStrict              = 0x10000
	// EVT_QUERY_FLAGS,
	// https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_query_flags
	evtQueryChannelPath      = 0x1
	evtQueryForwardDirection = 0x100
	// EVT_RENDER_FLAGS,
	// https://learn.microsoft.com/en-us/windows/win32/api/winevt/ne-winevt-evt_render_flags
	evtRenderEventXML = 1
	evtRenderBookmark = 2
	// EvtNext's Timeout: how long it may wait for events, in milliseconds
	// (https://learn.microsoft.com/en-us/windows/win32/api/winevt/nf-winevt-evtnext).
	// 0 for a subscription (the signal does the waiting); a bounded wait for
	// a query result set.
	nextTimeoutSubscription = 0
	nextTimeoutQuery        = 5000
)

type evtHandle uintptr

func evtClose(h evtHandle) {
	if h != 0 {
		procEvtClose.Call(uintptr(h))
	}
}

// errnoOf returns the error a failed call left, as a windows.Errno (never
// a nil error: a zero return with no last error is still a failure).
func errnoOf(err error) error {
	var en windows.Errno
	if errors.As(err, &en) && en != 0 {
		return en
	}
	return windows.ERROR_GEN_FAILURE
}

func evtCreateBookmark(xmlText string) (evtHandle, error) {
	var p *uint16
	if xmlText != "" {
		var err error
		if p, err = windows.UTF16PtrFromString(xmlText); err != nil {
			return 0, err
		}
	}
	r, _, err := procEvtCreateBookmark.Call(uintptr(unsafe.Pointer(p)))
	if r == 0 {
		return 0, fmt.Errorf("EvtCreateBookmark: %w", errnoOf(err))
	}
	return evtHandle(r), nil
}

func evtRender(h evtHandle, flags uint32) (string, error) {
	var used, props uint32
	r, _, err := procEvtRender.Call(0, uintptr(h), uintptr(flags), 0, 0, uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
	if r == 0 && !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) {
		return "", fmt.Errorf("EvtRender: %w", errnoOf(err))
	}
	buf := make([]uint16, used/2+1)
	r, _, err = procEvtRender.Call(0, uintptr(h), uintptr(flags), uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
	if r == 0 {
		return "", fmt.Errorf("EvtRender: %w", errnoOf(err))
	}
	return windows.UTF16ToString(buf), nil
}

// evtNext fills hs and returns how many; the error (ERROR_NO_MORE_ITEMS,
// ERROR_INVALID_OPERATION on an idle subscription, ERROR_TIMEOUT, …) is
// left to Classify.
func evtNext(h evtHandle, hs []evtHandle, timeout uint32) (int, error) {
	var n uint32
	r, _, err := procEvtNext.Call(uintptr(h), uintptr(len(hs)), uintptr(unsafe.Pointer(&hs[0])), uintptr(timeout), 0, uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		return 0, fmt.Errorf("EvtNext: %w", errnoOf(err))
	}
	return int(n), nil
}

func evtQuery(path *uint16, query string, flags uint32) (evtHandle, error) {
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		return 0, err
	}
	r, _, err := procEvtQuery.Call(0, uintptr(unsafe.Pointer(path)), uintptr(unsafe.Pointer(q)), uintptr(flags))
	if r == 0 {
		return 0, fmt.Errorf("EvtQuery: %w", errnoOf(err))
	}
	return evtHandle(r), nil
}

// windowsLog is the local event log.
type windowsLog struct{}

// Probe opens a query on the channel alone: ERROR_EVT_CHANNEL_NOT_FOUND
// when it does not exist, ERROR_ACCESS_DENIED when it cannot be read.
func (windowsLog) Probe(channel string) error {
	p, err := windows.UTF16PtrFromString(channel)
	if err != nil {
		return err
	}
	h, err := evtQuery(p, "*", evtQueryChannelPath|evtQueryForwardDirection)
	if err != nil {
		return err
	}
	evtClose(h)
	return nil
}

func (windowsLog) Read(q Query) (Reader, error) {
	x, err := q.XML()
	if err != nil {
		return nil, err
	}
	h, err := evtQuery(nil, x, evtQueryChannelPath|evtQueryForwardDirection)
	if err != nil {
		return nil, err
	}
	return &winReader{h: h, timeout: nextTimeoutQuery}, nil
}

func (windowsLog) Subscribe(q Query, from Start) (Subscription, error) {
	x, err := q.XML()
	if err != nil {
		return nil, err
	}
	qp, err := windows.UTF16PtrFromString(x)
	if err != nil {
		return nil, err
	}
	// A manual-reset event, set initially so the first wait drains at once;
	// the pull model: https://learn.microsoft.com/en-us/windows/win32/wes/subscribing-to-events
	signal, err := windows.CreateEvent(nil, 1, 1, nil)
	if err != nil {
		return nil, fmt.Errorf("CreateEvent: %w", err)
	}
	bm, err := evtCreateBookmark(from.Bookmark)
	if err != nil {
		windows.CloseHandle(signal)
		return nil, err
	}
	flags := uint32(evtSubscribeToFutureEvents)
	var after evtHandle
	switch from.Origin {
	case FromOldest:
		flags = evtSubscribeStartAtOldestRecord
	case AfterBookmark:
		flags, after = evtSubscribeStartAfterBookmark, bm
		if from.Strict {
			flags |= evtSubscribeStrict
		}
	}
	r, _, cerr := procEvtSubscribe.Call(0, uintptr(signal), 0, uintptr(unsafe.Pointer(qp)), uintptr(after), 0, 0, uintptr(flags))
	if r == 0 {
		evtClose(bm)
		windows.CloseHandle(signal)
		return nil, fmt.Errorf("EvtSubscribe: %w", errnoOf(cerr))
	}
	return &winSubscription{winReader: winReader{h: evtHandle(r), bm: bm, timeout: nextTimeoutSubscription}, signal: signal}, nil
}

// winReader reads a query result set or a subscription; with bm set, the
// bookmark follows every event handed out.
type winReader struct {
	h       evtHandle
	bm      evtHandle
	timeout uint32
	hs      []evtHandle
}

func (r *winReader) Next(max int) ([]string, error) {
	if len(r.hs) < max {
		r.hs = make([]evtHandle, max)
	}
	n, err := evtNext(r.h, r.hs[:max], r.timeout)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	var ferr error
	for i := 0; i < n; i++ {
		h := r.hs[i]
		r.hs[i] = 0
		if ferr == nil && r.bm != 0 {
			if rc, _, err := procEvtUpdateBookmark.Call(uintptr(r.bm), uintptr(h)); rc == 0 {
				ferr = fmt.Errorf("EvtUpdateBookmark: %w", errnoOf(err))
			}
		}
		if ferr == nil {
			x, err := evtRender(h, evtRenderEventXML)
			if err != nil {
				// One event that cannot be rendered is handed on as damage
				// (Decode fails on it), not a broken subscription.
				x = "<!-- " + err.Error() + " -->"
			}
			out = append(out, x)
		}
		evtClose(h)
	}
	if ferr != nil {
		return nil, ferr
	}
	return out, nil
}

func (r *winReader) Close() {
	evtClose(r.h)
	evtClose(r.bm)
	r.h, r.bm = 0, 0
}

type winSubscription struct {
	winReader
	signal windows.Handle
}

func (s *winSubscription) Bookmark() (string, error) { return evtRender(s.bm, evtRenderBookmark) }

// Wait blocks until the service signals events, d passes or ctx ends (seen
// at most d late). The signal is reset before returning, and the loop
// drains after every wake, so an event signalled between a Next and this
// reset is still read.
func (s *winSubscription) Wait(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return nil
	}
	ms := uint32(d / time.Millisecond)
	if _, err := windows.WaitForSingleObject(s.signal, ms); err != nil {
		return fmt.Errorf("WaitForSingleObject: %w", err)
	}
	windows.ResetEvent(s.signal)
	return nil
}

func (s *winSubscription) Close() {
	s.winReader.Close()
	windows.CloseHandle(s.signal)
}

// Local is this machine's event log.
func Local() (Log, error) {
	if err := wevtapi.Load(); err != nil {
		return nil, fmt.Errorf("the event log API (wevtapi.dll) is not available: %w", err)
	}
	return windowsLog{}, nil
}

// Run subscribes to the local event log and hands batches to h until ctx
// ends (a clean stop: the last acknowledged batch's bookmark is on disk)
// or a fatal error occurs.
func Run(ctx context.Context, opts Options, st State, plan Plan, h Handler) error {
	if err := wevtapi.Load(); err != nil {
		return fmt.Errorf("the event log API (wevtapi.dll) is not available: %w", err)
	}
	return Drive(ctx, windowsLog{}, opts, st, plan, h)
}
