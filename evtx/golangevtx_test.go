package evtx

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	gevtx "github.com/0xrawsec/golang-evtx/evtx"
	"github.com/tsdiag/tsdiag/evtx/internal/format"
)

// golangEvtx decodes a file with github.com/0xrawsec/golang-evtx, driven
// chunk by chunk on this goroutine: its Events/FastEvents iterators decode
// in goroutines of their own, where a panic kills the process, so the
// recover() here is the only way to survive its failures.
type golangEvtxResult struct {
	events        map[int64]*gevtx.GoEvtxMap // by record file offset
	chunkFailures int
	recFailures   int
}

func golangEvtx(path string) (res golangEvtxResult, err error) {
	res.events = map[int64]*gevtx.GoEvtxMap{}
	err = golangEvtxEach(path, &res, func(off int64, gem *gevtx.GoEvtxMap) { res.events[off] = gem })
	return res, err
}

// golangEvtxEach calls fn for every record golang-evtx decodes.
func golangEvtxEach(path string, res *golangEvtxResult, fn func(int64, *gevtx.GoEvtxMap)) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var ef gevtx.File
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("golang-evtx file header: %v", r)
			}
		}()
		ef, _ = gevtx.New(f)
	}()
	if err != nil {
		return err
	}
	for off := int64(format.FileHeaderSize); off+format.ChunkSize <= fi.Size(); off += format.ChunkSize {
		golangEvtxChunk(&ef, off, res, fn)
	}
	return nil
}

func golangEvtxChunk(ef *gevtx.File, off int64, res *golangEvtxResult, fn func(int64, *gevtx.GoEvtxMap)) {
	defer func() {
		if r := recover(); r != nil {
			res.chunkFailures++
		}
	}()
	c, err := ef.FetchChunk(off)
	if err != nil {
		res.chunkFailures++
		return
	}
	for _, eo := range c.EventOffsets {
		if int64(eo) > int64(c.Header.OffsetLastRec) {
			continue
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					res.recFailures++
				}
			}()
			e := c.ParseEvent(int64(eo))
			gem, err := e.GoEvtxMap(&c)
			if err != nil {
				res.recFailures++
				return
			}
			fn(off+int64(eo), gem)
		}()
	}
}

func gget(m *gevtx.GoEvtxMap, path string) string {
	p := gevtx.Path(path)
	v, err := m.Get(&p)
	if err != nil {
		return ""
	}
	return gvalue(*v)
}

// gvalue renders a golang-evtx value as text.
func gvalue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return formatTime(x)
	case []byte:
		return strings.TrimRight(string(x), "\x00")
	case gevtx.GoEvtxMap:
		if len(x) == 0 {
			return ""
		}
		if val, ok := x["Value"]; ok { // EventID with Qualifiers
			return gvalue(val)
		}
	}
	rv := reflect.ValueOf(v)
	if tt := reflect.TypeOf(time.Time{}); rv.Type().ConvertibleTo(tt) {
		return formatTime(rv.Convert(tt).Interface().(time.Time))
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() != reflect.Uint8 {
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = gvalue(rv.Index(i).Interface())
		}
		return strings.Join(parts, "\x00")
	}
	return fmt.Sprint(v)
}

// gpayload flattens golang-evtx's EventData/UserData map: leaf name → text.
func gpayload(m *gevtx.GoEvtxMap) map[string]string {
	out := map[string]string{}
	var walk func(gevtx.GoEvtxMap)
	walk = func(mm gevtx.GoEvtxMap) {
		for k, v := range mm {
			if sub, ok := v.(gevtx.GoEvtxMap); ok && len(sub) > 0 {
				walk(sub)
				continue
			}
			out[k] = gvalue(v)
		}
	}
	ev, _ := (*m)["Event"].(gevtx.GoEvtxMap)
	for _, k := range []string{"EventData", "UserData"} {
		if sub, ok := ev[k].(gevtx.GoEvtxMap); ok {
			walk(sub)
		}
	}
	return out
}

// compareGolangEvtx lists differences between our event and golang-evtx's.
// Documented golang-evtx defects accepted here:
//   - a classic source written as <Provider Name="X"/> with no Guid loses
//     its name (golang-evtx reads Provider/Name only together with Guid);
//     we check such records carry an EventSourceName-less classic shape.
//   - unnamed EventData/Data elements become map keys "Data", "Data1"…
//     named after their child index, and empty ones vanish, so positions
//     are compared by that index and an empty value of ours may be absent.
//   - string arrays stay one value (joined here with NUL).
func compareGolangEvtx(ours *Event, g *gevtx.GoEvtxMap) []string {
	var d []string
	cmp := func(field, a, b string) {
		if a != b && !sameValue(a, b) && !golangEvtxRendering(a, b) {
			d = append(d, fmt.Sprintf("%s: ours %q, golang-evtx %q", field, a, b))
		}
	}
	cmp("event_id", fmt.Sprint(ours.EventID), gget(g, "/Event/System/EventID"))
	if prov := gget(g, "/Event/System/Provider/Name"); prov != "" || ours.ProviderGUID != "" {
		cmp("provider", ours.Provider, prov)
	}
	cmp("record_id", fmt.Sprint(ours.RecordID), gget(g, "/Event/System/EventRecordID"))
	cmp("channel", ours.Channel, gget(g, "/Event/System/Channel"))
	cmp("computer", ours.Computer, gget(g, "/Event/System/Computer"))
	cmp("time", formatTime(ours.TimeCreated), gget(g, "/Event/System/TimeCreated/SystemTime"))
	theirs := gpayload(g)
	for name, v := range ours.Data {
		tv, ok := theirs[name]
		if ok {
			cmp("data "+name, v, tv)
		} else if v != "" {
			d = append(d, fmt.Sprintf("data %s: ours %q, missing in golang-evtx", name, v))
		}
	}
	if len(ours.Data) == 0 {
		d = append(d, compareUnnamed(ours, theirs)...)
	}
	return d
}

// compareUnnamed compares unnamed EventData/Data values in order. golang-
// evtx keys them "Data", "Data1"… by child index, drops empty ones and keeps
// a string array as one value; so the non-empty values are compared as
// sequences, its arrays expanded.
// compareUnnamed compares unnamed EventData/Data values in order. golang-
// evtx keys them "Data", "Data1"… by child index, drops empty ones and keeps
// a string array as one value; so the non-empty values are compared as
// sequences, its arrays expanded.
// golangEvtxAttrOnly: Data[child] for a child whose only value is an
// attribute is ours alone; golang-evtx has it under the attribute's name.
func golangEvtxAttrOnly(ev *Event, name string) bool {
	_, ok := ev.Data[name+"."+firstAttrName(ev, name)]
	return ok
}

func firstAttrName(ev *Event, child string) string {
	if ev.Tree == nil || ev.Tree.Child("UserData") == nil {
		return ""
	}
	for _, el := range ev.Tree.Child("UserData").Children {
		if c := el.Child(child); c != nil && len(c.Attrs) > 0 {
			return c.Attrs[0].Name
		}
	}
	return ""
}

func compareUnnamed(ours *Event, theirs map[string]string) []string {
	if ours.Tree == nil || ours.Tree.Child("EventData") == nil {
		return nil
	}
	var a []string
	for _, c := range ours.Tree.Child("EventData").Children {
		if c.Name == "Data" && c.Text != "" {
			a = append(a, c.Text)
		}
	}
	type kv struct {
		idx int
		v   string
	}
	var seq []kv
	for k, v := range theirs {
		if k == "Data" {
			seq = append(seq, kv{0, v})
		} else if n, err := strconv.Atoi(strings.TrimPrefix(k, "Data")); err == nil && strings.HasPrefix(k, "Data") {
			seq = append(seq, kv{n, v})
		}
	}
	sort.Slice(seq, func(i, j int) bool { return seq[i].idx < seq[j].idx })
	var b []string
	for _, e := range seq {
		for _, v := range strings.Split(e.v, "\x00") {
			if v != "" {
				b = append(b, v)
			}
		}
	}
	if d := compareList(a, b); len(d) > 0 {
		return []string{fmt.Sprintf("unnamed data: ours %q, golang-evtx %q", a, b)}
	}
	return nil
}

// golangEvtxRendering accepts golang-evtx's own renderings: GUIDs without
// braces, and "Unknown value: … ValType: 0x10" for size_t, a type it does
// not decode.
//
// It also reads a BOOL as true only when it is exactly 1 (ValueBool.Value:
// b.value == 0x1); Windows' BOOL is true when non-zero, which is what we and
// python-evtx render (see sample-with-irregular-bool-values.evtx).
func golangEvtxRendering(ours, theirs string) bool {
	if ours == "true" && theirs == "false" {
		return true
	}
	if strings.HasPrefix(theirs, "Unknown value:") && strings.Contains(theirs, "ValType: 0x10") {
		return true
	}
	return strings.HasPrefix(ours, "{") && strings.EqualFold(strings.Trim(ours, "{}"), theirs)
}

func TestFidelityGolangEvtx(t *testing.T) {
	dir := corpusDir(t)
	names := []string{}
	for n := range manifest(t) {
		names = append(names, n)
	}
	sort.Strings(names)
	total, compared, lostProvider := 0, 0, 0
	for _, name := range names {
		path := filepath.Join(dir, name)
		g, err := golangEvtx(path)
		if err != nil {
			t.Logf("%s: golang-evtx cannot open it: %v", name, err)
			continue
		}
		evs, _ := decodeAll(t, path, Options{KeepTree: true})
		var diffs, missing int
		for _, ev := range evs {
			gm, ok := g.events[ev.Offset]
			if !ok {
				missing++
				continue
			}
			compared++
			if ev.ProviderGUID == "" && gget(gm, "/Event/System/Provider/Name") == "" && ev.Provider != "" {
				lostProvider++
			}
			if dd := compareGolangEvtx(ev, gm); len(dd) > 0 {
				diffs++
				if diffs <= 5 {
					t.Errorf("%s: record %d (offset %d): %s", name, ev.RecordID, ev.Offset, strings.Join(dd, "; "))
				}
			}
		}
		total += len(evs)
		t.Logf("%s: we %d records, golang-evtx %d (chunk failures %d, record failures %d); compared %d, differences %d",
			name, len(evs), len(g.events), g.chunkFailures, g.recFailures, len(evs)-missing, diffs)
	}
	t.Logf("compared %d of our %d records with golang-evtx; %d classic records whose provider name golang-evtx lost",
		compared, total, lostProvider)
	if compared == 0 {
		t.Fatal("no record compared")
	}
}
