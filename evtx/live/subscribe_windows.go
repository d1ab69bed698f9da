//go:build windows

package live

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tsdiag/tsdiag/evtx"
)

// The event log API (wevtapi.dll) is called directly: x/sys/windows has no
// wrappers for it, and golang-win32's wrappers lack bookmarks.
var (
	wevtapi               = windows.NewLazySystemDLL("wevtapi.dll")
	procEvtSubscribe      = wevtapi.NewProc("EvtSubscribe")
	procEvtNext           = wevtapi.NewProc("EvtNext")
	procEvtRender         = wevtapi.NewProc("EvtRender")
	procEvtClose          = wevtapi.NewProc("EvtClose")
	procEvtCreateBookmark = wevtapi.NewProc("EvtCreateBookmark")
	procEvtUpdateBookmark = wevtapi.NewProc("EvtUpdateBookmark")
	errNoMoreItems        = windows.Errno(259) // ERROR_NO_MORE_ITEMS
	errInsufficientBuffer = windows.ERROR_INSUFFICIENT_BUFFER
	errEvtInvalidQuery    = windows.Errno(15001) // ERROR_EVT_INVALID_QUERY
)

const (
	evtSubscribeToFutureEvents      = 1
	evtSubscribeStartAtOldestRecord = 2
	evtSubscribeStartAfterBookmark  = 3
	evtSubscribeTolerateQueryErrors = 0x1000
	evtRenderEventXML               = 1
	evtRenderBookmark               = 2
)

type evtHandle uintptr

func evtClose(h evtHandle) {
	if h != 0 {
		procEvtClose.Call(uintptr(h))
	}
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
		return 0, fmt.Errorf("EvtCreateBookmark: %w", err)
	}
	return evtHandle(r), nil
}

func evtUpdateBookmark(bm, ev evtHandle) error {
	r, _, err := procEvtUpdateBookmark.Call(uintptr(bm), uintptr(ev))
	if r == 0 {
		return fmt.Errorf("EvtUpdateBookmark: %w", err)
	}
	return nil
}

func evtSubscribe(signal windows.Handle, query string, bm evtHandle, flags uint32) (evtHandle, error) {
	q, err := windows.UTF16PtrFromString(query)
	if err != nil {
		return 0, err
	}
	r, _, err := procEvtSubscribe.Call(0, uintptr(signal), 0, uintptr(unsafe.Pointer(q)), uintptr(bm), 0, 0, uintptr(flags))
	if r == 0 {
		return 0, fmt.Errorf("EvtSubscribe: %w", err)
	}
	return evtHandle(r), nil
}

// evtNext fills hs; 0 with a nil error means nothing is waiting.
func evtNext(sub evtHandle, hs []evtHandle) (int, error) {
	var n uint32
	r, _, err := procEvtNext.Call(uintptr(sub), uintptr(len(hs)), uintptr(unsafe.Pointer(&hs[0])), 0, 0, uintptr(unsafe.Pointer(&n)))
	if r == 0 {
		if errors.Is(err, errNoMoreItems) || errors.Is(err, windows.ERROR_TIMEOUT) {
			return 0, nil
		}
		return 0, fmt.Errorf("EvtNext: %w", err)
	}
	return int(n), nil
}

func evtRender(h evtHandle, flags uint32) (string, error) {
	var used, props uint32
	r, _, err := procEvtRender.Call(0, uintptr(h), uintptr(flags), 0, 0, uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
	if r == 0 && !errors.Is(err, errInsufficientBuffer) {
		return "", fmt.Errorf("EvtRender: %w", err)
	}
	buf := make([]uint16, used/2+1)
	r, _, err = procEvtRender.Call(0, uintptr(h), uintptr(flags), uintptr(len(buf)*2), uintptr(unsafe.Pointer(&buf[0])),
		uintptr(unsafe.Pointer(&used)), uintptr(unsafe.Pointer(&props)))
	if r == 0 {
		return "", fmt.Errorf("EvtRender: %w", err)
	}
	return windows.UTF16ToString(buf), nil
}

// Run subscribes and hands batches to h until ctx ends (a clean stop: the
// last acknowledged batch's bookmark is on disk) or an error occurs.
func Run(ctx context.Context, opts Options, st State, plan Plan, h Handler) error {
	opts = opts.withDefaults()
	if err := wevtapi.Load(); err != nil {
		return fmt.Errorf("the event log API (wevtapi.dll) is not available: %w", err)
	}
	opts.Query.Since = plan.Since
	query, err := opts.Query.XML()
	if err != nil {
		return err
	}
	signal, err := windows.CreateEvent(nil, 1, 1, nil)
	if err != nil {
		return fmt.Errorf("CreateEvent: %w", err)
	}
	defer windows.CloseHandle(signal)
	bm, err := evtCreateBookmark(plan.Bookmark)
	if err != nil {
		return err
	}
	defer func() { evtClose(bm) }()
	flags := uint32(evtSubscribeToFutureEvents)
	var from evtHandle
	switch {
	case plan.Bookmark != "":
		flags, from = evtSubscribeStartAfterBookmark, bm
	case plan.FromOldest:
		flags = evtSubscribeStartAtOldestRecord
	}
	sub, err := evtSubscribe(signal, query, from, flags|evtSubscribeTolerateQueryErrors)
	if errors.Is(err, errEvtInvalidQuery) {
		// Some Windows versions cap the terms of an XPath query; select by
		// provider only and let the in-process filter take the event ids.
		q := opts.Query
		q.ProvidersOnly = true
		if query, err = q.XML(); err != nil {
			return err
		}
		opts.OnNote("Windows rejected the event-id query; subscribing by provider only")
		sub, err = evtSubscribe(signal, query, from, flags|evtSubscribeTolerateQueryErrors)
	}
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return fmt.Errorf("%w (run as Administrator or as a member of Event Log Readers)", err)
	}
	if err != nil {
		return err
	}
	defer evtClose(sub)
	st.Since = plan.Since
	if opts.StatePath != "" && st.Bookmark == "" {
		st.Saved = time.Now().UTC()
		if err := st.Save(opts.StatePath); err != nil {
			return err
		}
	}
	s := &subscription{opts: opts, st: st, sub: sub, bm: bm, dedupe: NewDedupe(true, nil, time.Time{}), h: h}
	return s.loop(ctx, signal)
}

type subscription struct {
	opts   Options
	st     State
	sub    evtHandle
	bm     evtHandle
	dedupe *Dedupe
	h      Handler
	idle   time.Time
}

func (s *subscription) loop(ctx context.Context, signal windows.Handle) error {
	s.idle = time.Now()
	for {
		// Drain on every wake, signalled or not, so a signal raised between
		// the last EvtNext and ResetEvent can never strand events.
		got, err := s.drain(ctx, signal)
		if err != nil {
			return err
		}
		switch {
		case got:
			// Caught up (or stopping): the handler takes what it holds, then
			// the bookmark moves past it.
			s.idle = time.Now()
			if err := s.commit(); err != nil {
				return err
			}
		case time.Since(s.idle) >= s.opts.Tick:
			s.idle = time.Now()
			if err := s.h(nil); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if _, err := windows.WaitForSingleObject(signal, uint32(s.opts.Poll/time.Millisecond)); err != nil {
			return fmt.Errorf("WaitForSingleObject: %w", err)
		}
	}
}

func (s *subscription) drain(ctx context.Context, signal windows.Handle) (bool, error) {
	hs := make([]evtHandle, s.opts.Batch)
	got := false
	for ctx.Err() == nil {
		n, err := evtNext(s.sub, hs)
		if err != nil {
			return got, err
		}
		if n == 0 {
			windows.ResetEvent(signal)
			return got, nil
		}
		got = true
		if err := s.batch(hs[:n]); err != nil {
			return got, err
		}
	}
	return got, nil
}

// batch renders, decodes and de-duplicates events and hands them over; the
// bookmark handle follows every event, but is saved only by commit.
func (s *subscription) batch(hs []evtHandle) error {
	var events []*evtx.Event
	for i, h := range hs {
		ev, err := s.one(h)
		evtClose(h)
		hs[i] = 0
		if err != nil {
			s.opts.OnDamage(err)
			continue
		}
		if s.dedupe.New(ev) {
			events = append(events, ev)
		}
	}
	s.st.Events += uint64(len(events))
	return s.h(events)
}

// commit tells the handler the subscription caught up (an empty batch) and,
// once it has dealt with everything, saves the bookmark atomically.
func (s *subscription) commit() error {
	if err := s.h(nil); err != nil {
		return err
	}
	xmlText, err := evtRender(s.bm, evtRenderBookmark)
	if err != nil {
		return err
	}
	s.st.Bookmark = xmlText
	s.st.Saved = time.Now().UTC()
	if s.opts.StatePath == "" {
		return nil
	}
	return s.st.Save(s.opts.StatePath)
}

func (s *subscription) one(h evtHandle) (*evtx.Event, error) {
	if err := evtUpdateBookmark(s.bm, h); err != nil {
		return nil, err
	}
	text, err := evtRender(h, evtRenderEventXML)
	if err != nil {
		return nil, err
	}
	return Decode(text, "live")
}
