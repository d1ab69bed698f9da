package xmlevents

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/evt"
	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
)

// sameEvent compares everything a rule can see.
func sameEvent(a, b *evtx.Event) bool {
	x, y := *a, *b
	x.Tree, y.Tree, x.File, y.File, x.Offset, y.Offset = nil, nil, "", "", 0, 0
	if len(x.Params) == 0 {
		x.Params = nil
	}
	if len(y.Params) == 0 {
		y.Params = nil
	}
	return reflect.DeepEqual(x, y)
}

// renderExport writes events as Get-WinEvent | % ToXml() does: one
// rendered event per line.
func renderExport(evs []*evtx.Event) []byte {
	var buf bytes.Buffer
	for _, e := range evs {
		buf.WriteString(e.XML())
		buf.WriteString("\r\n")
	}
	return buf.Bytes()
}

// TestRoundTripLegacy renders decoded Windows 2003 events as XML, reads the
// XML back and expects the same events.
func TestRoundTripLegacy(t *testing.T) {
	var recs []evtenc.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, evtenc.Record{
			Time: time.Date(2006, 5, 1, 8, i, 0, 0, time.UTC), EventID: 0xC00003F0 - uint32(i%3), Type: evtenc.Error,
			Source: "TermService", Computer: "TS2003", UserSID: "S-1-5-21-1-2-3-500",
			Strings: []string{fmt.Sprint(i), "", "<&>\"' ünï"}, Data: []byte{byte(i)},
		})
	}
	b, err := evtenc.Encode(recs, evtenc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var orig []*evtx.Event
	evt.DecodeReaderAt(bytes.NewReader(b), int64(len(b)), "SysEvent.Evt", evt.Options{}, func(e *evtx.Event) error {
		orig = append(orig, e)
		return nil
	})
	for _, doc := range [][]byte{renderExport(orig), utf16Bytes(string(renderExport(orig)), false, true)} {
		back, st := decodeAll(t, doc, Options{})
		if len(back) != len(orig) || len(st.Damages) > 0 {
			t.Fatalf("read back %d of %d, damages %+v", len(back), len(orig), st.Damages)
		}
		for i := range orig {
			if !sameEvent(orig[i], back[i]) {
				t.Fatalf("event %d:\n orig %+v\n back %+v\n xml %s", i, orig[i], back[i], orig[i].XML())
			}
		}
	}
	if !strings.Contains(orig[0].XML(), "<Binary>00</Binary>") {
		t.Fatalf("binary data missing from XML: %s", orig[0].XML())
	}
}

// TestRoundTripCorpus renders every event of the real samples as XML (the
// way EvtRender and Get-WinEvent's ToXml() write it), reads the XML back and
// expects the same events.
func TestRoundTripCorpus(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.evtx"))
	total, differ := 0, 0
	for _, p := range paths {
		var orig []*evtx.Event
		if _, err := evtx.DecodeFile(p, evtx.Options{KeepTree: true}, func(e *evtx.Event) error {
			orig = append(orig, e)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		back, st := decodeAll(t, renderExport(orig), Options{})
		if len(back) != len(orig) || len(st.Damages) > 0 {
			t.Fatalf("%s: read back %d of %d, damages %+v", filepath.Base(p), len(back), len(orig), st.Damages)
		}
		for i := range orig {
			// The XML carries the record's tree; where the decoder took a
			// field from the record header instead (a tree saying
			// EventRecordID 0), the tree is what XML can reproduce.
			want := evtx.EventFromTree(orig[i].Tree)
			if !sameEvent(want, back[i]) {
				t.Fatalf("%s event %d:\n orig %+v\n back %+v\n xml %s", filepath.Base(p), i, want, back[i], orig[i].XML())
			}
			if !sameEvent(orig[i], back[i]) {
				differ++
			}
		}
		total += len(orig)
	}
	t.Logf("%d events from %d files round-tripped through XML; %d differ from the binary decode only where the record header and its XML disagree", total, len(paths), differ)
}
