package evtx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// renderNoPlan renders path with plans off and templates parsed in every
// chunk: the generic direct renderer as it was.
func renderNoPlan(t testing.TB, path string, mode Render, workers int) ([]byte, Stats) {
	var out []byte
	st, err := DecodeFile(path, Options{Render: mode, Workers: workers, noPlan: true, noShare: true, Output: func(b []byte) error {
		out = append(out, b...)
		return nil
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, st
}

// comparePlans checks that plans change nothing: the same bytes, the same
// records rendered directly, the same damage and the same work spent as
// the generic renderer. It returns how many records plans rendered (the
// fewer of JSON and XML).
func comparePlans(t *testing.T, path string) (planned, records int) {
	planned = -1
	for _, mode := range []Render{RenderJSONL, RenderXML} {
		want, wst := renderNoPlan(t, path, mode, 1)
		for _, workers := range []int{1, 2} {
			got, gst := renderOutput(t, path, mode, workers)
			if !bytes.Equal(got, want) {
				gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
				for i := range min(len(gl), len(wl)) {
					if !bytes.Equal(gl[i], wl[i]) {
						t.Fatalf("%s mode %d workers %d line %d:\n got %s\nwant %s", filepath.Base(path), mode, workers, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s mode %d: %d lines, want %d", filepath.Base(path), mode, len(gl), len(wl))
			}
			if workers == 1 && (planned < 0 || gst.planned < planned) {
				planned, records = gst.planned, gst.Records
			}
			gst.planned = 0
			if fmt.Sprint(gst) != fmt.Sprint(wst) {
				t.Fatalf("%s mode %d workers %d: stats\n got %+v\nwant %+v", filepath.Base(path), mode, workers, gst, wst)
			}
		}
	}
	return planned, records
}

// TestPlansMatchGenericOnCorpus: on every corpus file, and on the real
// System log in particular, plans render most records, and nothing they
// render differs from the generic renderer, work budget included.
func TestPlansMatchGenericOnCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.evtx"))
	if len(files) == 0 {
		t.Skip("no corpus files")
	}
	total, planned := 0, 0
	for _, f := range files {
		p, n := comparePlans(t, f)
		planned, total = planned+p, total+n
		if filepath.Base(f) == "system.evtx" && p < n*9/10 {
			t.Errorf("system.evtx: plans rendered %d of %d records", p, n)
		}
	}
	t.Logf("plans rendered %d of %d corpus records", planned, total)
	if planned < total/2 {
		t.Errorf("plans rendered only %d of %d corpus records", planned, total)
	}
}

func TestPlansMatchGenericOnWrittenLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd.evtx")
	oddLog(t, path)
	if p, _ := comparePlans(t, path); p == 0 {
		t.Error("no record of the written log was rendered by a plan")
	}
	bomb := filepath.Join(t.TempDir(), "bomb.evtx")
	if err := os.WriteFile(bomb, fileWith(bombChunk(), bombChunk(), licensingChunk(t, "RDSH01", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	comparePlans(t, bomb)
}

// TestSharedTemplatesChangeNothing: events decoded with templates kept
// across chunks equal those decoded with every chunk's templates parsed
// afresh, for every corpus file and a written log, on one and two workers.
func TestSharedTemplatesChangeNothing(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.evtx"))
	odd := filepath.Join(t.TempDir(), "odd.evtx")
	oddLog(t, odd)
	for _, f := range append(files, odd) {
		var want []byte
		for i, opts := range []Options{{KeepTree: true, noShare: true}, {KeepTree: true}, {KeepTree: true, Workers: 2}} {
			var got []byte
			st, err := DecodeFile(f, opts, func(ev *Event) error {
				got = fmt.Appendf(got, "%s %d %s %q\n", ev.File, ev.Offset, ev.XML(), ev.Data)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got = fmt.Appendf(got, "%+v", st)
			if i == 0 {
				want = got
			} else if !bytes.Equal(got, want) {
				t.Fatalf("%s, options %+v: events differ with shared templates", filepath.Base(f), opts)
			}
		}
	}
}

// FuzzAppendJSONUTF16: the one-pass UTF-16 to JSON string equals quoting
// what appendUTF16 decodes, for any bytes (unpaired surrogates, NULs,
// control characters, U+2028).
func FuzzAppendJSONUTF16(f *testing.F) {
	for _, s := range []string{"", "a\x00", "\x00\xd8a\x00", "\x3d\xd8\x00\xde", "\x28\x20\x29\x20", "\"\x00\\\x00\n\x00\x01\x00", "\x00\x00\x00\x00", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := appendJSONString(nil, appendUTF16(nil, b))
		if got := appendJSONUTF16(nil, b); !bytes.Equal(got, want) {
			t.Fatalf("%x: got %s, want %s", b, got, want)
		}
	})
}
