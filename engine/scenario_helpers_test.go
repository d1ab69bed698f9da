package engine

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
	"github.com/tsdiag/tsdiag/rules"
)

// builtinSet is the built-in rule pack, loaded once per test binary.
func builtinSet(t testing.TB) *rules.Set {
	t.Helper()
	set, err := rules.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// scenarioRecords generates a built-in scenario's records; edit, when not
// nil, rewrites its TOML first (a variant of the scenario).
func scenarioRecords(t testing.TB, id string, edit func(string) string) []writer.Record {
	t.Helper()
	name := id + ".toml"
	data, err := fs.ReadFile(scenario.Builtin, name)
	if err != nil {
		t.Fatalf("scenario %s: %v", id, err)
	}
	text := string(data)
	if edit != nil {
		text = edit(text)
	}
	sc, err := scenario.LoadFile(fstest.MapFS{name: {Data: []byte(text)}}, name)
	if err != nil {
		t.Fatal(err)
	}
	return sc.Generate(1, scenario.DefaultStart, 0)
}

// numbered gives every record its record id explicitly (one past the
// previous), so a slice written to another file keeps the ids Windows
// gave it, as a rotated archive log does.
func numbered(recs []writer.Record) []writer.Record {
	out := make([]writer.Record, len(recs))
	for i, r := range recs {
		r.RecordID = uint64(i + 1)
		out[i] = r
	}
	return out
}

// writeEVTX writes records with the project's encoder.
func writeEVTX(t testing.TB, path string, recs []writer.Record) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := writer.New(f)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// genFile writes scenario id to dir/<name> and returns the path.
func genFile(t testing.TB, dir, name, id string) string {
	return writeEVTX(t, filepath.Join(dir, name), scenarioRecords(t, id, nil))
}

// scan reads inputs (files, XML exports…) through one engine, as tsdiag
// scan does without --separate.
func scan(t testing.TB, set *rules.Set, opts Options, inputs ...string) ([]Finding, Stats) {
	t.Helper()
	eng := New(set, opts)
	st, err := source.Walk(inputs, source.Options{Filter: set.Filter()}, eng.Feed)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Unreadable) > 0 {
		t.Fatalf("unreadable: %+v", st.Unreadable)
	}
	fs := eng.Finish()
	if es := eng.Stats(); es.EvalErrors > 0 {
		t.Fatalf("eval errors: %+v", es)
	}
	return fs, eng.Stats()
}

// selectedIn counts the records of path some rule selects.
func selectedIn(t testing.TB, set *rules.Set, path string) int {
	t.Helper()
	eng := New(set, Options{})
	n := 0
	_, err := source.Walk([]string{path}, source.Options{Filter: set.Filter()}, func(ev *evtx.Event) error {
		if eng.lookup(ev) != nil {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// xmlExport writes path's events as an XML export (<Events>…</Events>, the
// form wevtutil qe /f:xml and Event Viewer's "Save as XML" give); strip
// removes the EventRecordID elements (an export tool that drops them).
func xmlExport(t testing.TB, path, out string, strip bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<Events>\n")
	_, err := source.Walk([]string{path}, source.Options{KeepTree: true}, func(ev *evtx.Event) error {
		x := ev.XML()
		if strip {
			i := strings.Index(x, "<EventRecordID>")
			j := strings.Index(x, "</EventRecordID>")
			if i >= 0 && j > i {
				x = x[:i] + x[j+len("</EventRecordID>"):]
			}
		}
		b.WriteString(x)
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("</Events>\n")
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func byID(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

func keysOf(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key+"("+f.Severity+")")
	}
	return out
}

// aboveInfo lists findings an admin would be alarmed by.
func aboveInfo(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		if f.Severity != "info" {
			out = append(out, f.Key+"("+f.Severity+")")
		}
	}
	return out
}
