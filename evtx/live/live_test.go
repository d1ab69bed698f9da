package live

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

const rcm = "Microsoft-Windows-TerminalServices-RemoteConnectionManager"

// parseSelects reads a QueryList back: each Select's Path and XPath text.
func parseSelects(t *testing.T, x string) []Select {
	t.Helper()
	var ql struct {
		Query struct {
			ID      string `xml:"Id,attr"`
			Selects []struct {
				Path string `xml:"Path,attr"`
				Text string `xml:",chardata"`
			} `xml:"Select"`
		} `xml:"Query"`
	}
	if err := xml.Unmarshal([]byte(x), &ql); err != nil {
		t.Fatalf("query is not XML: %v\n%s", err, x)
	}
	var out []Select
	for _, s := range ql.Query.Selects {
		out = append(out, Select{Path: s.Path, XPath: s.Text})
	}
	return out
}

// countExpressions counts an XPath's expressions the way MaxExpressions
// is defined: each comparison (=, >=, <=) is one.
func countExpressions(xpath string) int {
	return strings.Count(xpath, "=") // '=' , '>=' and '<=' each hold one
}

func TestQueryXML(t *testing.T) {
	q := Query{
		Channels: []string{"System", "Microsoft-Windows-TerminalServices-Licensing/Admin"},
		Refs: []Ref{
			{rcm, 1129}, {rcm, 1128}, {rcm, 50281}, {rcm, 50280}, {rcm, 1130}, {rcm, 1003},
			{"TermService", 1008}, {"TermService", 1009},
			{"Microsoft-Windows-TerminalServices-Licensing", 21},
		},
		Since: time.Date(2026, 11, 1, 8, 30, 0, 0, time.FixedZone("CET", 3600)),
	}
	got, err := q.XML()
	if err != nil {
		t.Fatal(err)
	}
	sels := parseSelects(t, got)
	// Few enough terms for one Select per channel.
	if len(sels) != 2 || sels[1].Path != "Microsoft-Windows-TerminalServices-Licensing/Admin" {
		t.Fatalf("selects: %+v", sels)
	}
	want := "*[System[((Provider[@Name='Microsoft-Windows-TerminalServices-Licensing'] and EventID=21)" +
		" or (Provider[@Name='" + rcm + "'] and (EventID=1003 or (EventID>=1128 and EventID<=1130) or (EventID>=50280 and EventID<=50281)))" +
		" or (Provider[@Name='TermService'] and (EventID>=1008 and EventID<=1009))" +
		") and TimeCreated[@SystemTime>='2026-11-01T07:30:00.000Z']]]"
	if sels[0].XPath != want {
		t.Fatalf("XPath\n got %s\nwant %s", sels[0].XPath, want)
	}
	// 3 provider tests, ids 1 + (1+2+2) + 2, the time test.
	if n := countExpressions(sels[0].XPath); n != 12 {
		t.Fatalf("%d expressions, want 12", n)
	}
	if own, _ := q.Selects(); own[0].Expressions != 12 {
		t.Fatalf("Select.Expressions = %d, want 12", own[0].Expressions)
	}
	if !strings.Contains(got, "EventID&gt;=1128") || strings.Contains(got, "EventID>=") {
		t.Fatalf("comparison operators not escaped in the XML:\n%s", got)
	}
}

// A provider with more ids than one Select may hold is split over several
// Selects of the same channel, every one within MaxExpressions, and
// together they select exactly the ids asked for.
func TestQuerySplitsLongProvider(t *testing.T) {
	var refs []Ref
	for i := 0; i < 3*MaxExpressions; i++ {
		refs = append(refs, Ref{"Noisy", uint16(10 + 2*i)}) // no runs: one term each
	}
	refs = append(refs, Ref{"Quiet", 7})
	q := Query{Channels: []string{"System", "Application"}, Refs: refs, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	x, err := q.XML()
	if err != nil {
		t.Fatal(err)
	}
	sels := parseSelects(t, x)
	perChannel := map[string]int{}
	ids := map[string]bool{}
	for _, s := range sels {
		perChannel[s.Path]++
		if n := countExpressions(s.XPath); n > MaxExpressions {
			t.Errorf("%s: %d expressions > %d: %s", s.Path, n, MaxExpressions, s.XPath)
		}
		if !strings.Contains(s.XPath, "TimeCreated[@SystemTime>='2026-01-01T00:00:00.000Z']") {
			t.Errorf("select without the time bound: %s", s.XPath)
		}
		if s.Path == "System" {
			for _, f := range strings.FieldsFunc(s.XPath, func(r rune) bool { return r == ' ' || r == '(' || r == ')' || r == ']' }) {
				if strings.HasPrefix(f, "EventID=") {
					ids[f] = true
				}
			}
		}
	}
	if perChannel["System"] < 4 || perChannel["System"] != perChannel["Application"] {
		t.Fatalf("selects per channel: %v", perChannel)
	}
	if len(ids) != len(refs) {
		t.Fatalf("the selects of System name %d ids, want %d", len(ids), len(refs))
	}
	po, err := Query{Channels: []string{"System"}, Refs: refs, ProvidersOnly: true}.XML()
	if err != nil || strings.Contains(po, "EventID") || !strings.Contains(po, "(Provider[@Name='Noisy'] or Provider[@Name='Quiet'])") {
		t.Fatalf("providers-only query:\n%s", po)
	}
	if _, err := (Query{Channels: []string{"System"}}).XML(); err == nil {
		t.Fatal("a query with no events accepted")
	}
	if _, err := (Query{Channels: []string{"System"}, Refs: []Ref{{"O'Brien", 1}}}).XML(); err == nil {
		t.Fatal("a provider name with a quote accepted")
	}
	if _, err := (Query{Refs: refs}).XML(); err == nil {
		t.Fatal("a query with no channels accepted")
	}
}

func TestQueryMatch(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := Query{Channels: []string{"ForwardedEvents"}, Refs: []Ref{{"TermService", 1008}}, Since: since}
	e := &evtx.Event{Provider: "TermService", EventID: 1008, Channel: "System", TimeCreated: since}
	if !q.Match(e) {
		t.Fatal("a forwarded System event in ForwardedEvents not matched")
	}
	for name, bad := range map[string]evtx.Event{
		"other id":       {Provider: "TermService", EventID: 1009, TimeCreated: since},
		"other case":     {Provider: "termservice", EventID: 1008, TimeCreated: since},
		"before since":   {Provider: "TermService", EventID: 1008, TimeCreated: since.Add(-time.Second)},
		"other provider": {Provider: "Other", EventID: 1008, TimeCreated: since},
	} {
		if q.Match(&bad) {
			t.Errorf("%s matched", name)
		}
	}
	q.ProvidersOnly = true
	if !q.Match(&evtx.Event{Provider: "TermService", EventID: 1, TimeCreated: since}) {
		t.Error("providers-only query filters ids")
	}
}

// TestClassify: every code the loop knows maps to its action, unknown
// codes and errors without a code are fatal, and wrapping keeps the code.
func TestClassify(t *testing.T) {
	table := []struct {
		code uint32
		want Action
	}{
		{5, ChannelDenied},
		{6, Resubscribe},   // ERROR_INVALID_HANDLE: EventLog service restarted
		{87, Resubscribe},  // ERROR_INVALID_PARAMETER
		{259, NoMoreItems}, // ERROR_NO_MORE_ITEMS
		{1168, BookmarkGone},
		{1460, NoMoreItems},
		{1717, Resubscribe},
		{1722, Resubscribe}, // RPC_S_SERVER_UNAVAILABLE
		{1726, Resubscribe},
		{1753, Resubscribe},
		{1818, Resubscribe},
		{4317, NoMoreItems}, // ERROR_INVALID_OPERATION on an idle EvtNext
		{15000, ChannelMissing},
		{15001, BadQuery},
		{15007, ChannelMissing},
		{15011, Resubscribe}, // ERROR_EVT_QUERY_RESULT_STALE
		{15012, Resubscribe},
		{15026, BadQuery}, // ERROR_EVT_FILTER_TOO_COMPLEX: retry by provider only
		{15027, Fatal},
		{15036, ChannelDenied},
		{8, Fatal},    // ERROR_NOT_ENOUGH_MEMORY: not in the table
		{1450, Fatal}, // ERROR_NO_SYSTEM_RESOURCES
	}
	seen := map[uint32]bool{}
	for _, c := range table {
		seen[c.code] = true
		err := fmt.Errorf("EvtNext: %w", syscall.Errno(c.code))
		if got := Classify(err); got != c.want {
			t.Errorf("%d (%s): %v, want %v", c.code, CodeName(err), got, c.want)
		}
	}
	for _, c := range Codes {
		if !seen[c.Code] {
			t.Errorf("code %d %s is in the classifier but not in this test", c.Code, c.Name)
		}
		if c.Source == "" || c.Name == "" {
			t.Errorf("code %d has no name or source", c.Code)
		}
	}
	if Classify(errors.New("no code")) != Fatal || Classify(nil) != NoMoreItems {
		t.Error("errors without a code must be fatal, nil is nothing waiting")
	}
	if got := CodeName(fmt.Errorf("x: %w", syscall.Errno(15011))); got != "15011 ERROR_EVT_QUERY_RESULT_STALE" {
		t.Errorf("CodeName = %q", got)
	}
}

func TestReplaceFileRetries(t *testing.T) {
	busy := errors.New("sharing violation")
	calls, slept := 0, time.Duration(0)
	rename := func(string, string) error {
		if calls++; calls < 4 {
			return busy
		}
		return nil
	}
	transient := func(err error) bool { return err == busy }
	if err := replaceFile("a", "b", rename, transient, func(d time.Duration) { slept += d }); err != nil || calls != 4 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
	if slept != 70*time.Millisecond { // 10 + 20 + 40
		t.Fatalf("slept %v", slept)
	}
	calls = 0
	always := func(string, string) error { calls++; return busy }
	if err := replaceFile("a", "b", always, transient, func(time.Duration) {}); err != busy || calls != 9 {
		t.Fatalf("a lasting violation: %v after %d calls", err, calls)
	}
	calls = 0
	other := errors.New("disk full")
	if err := replaceFile("a", "b", func(string, string) error { calls++; return other }, transient, func(time.Duration) {}); err != other || calls != 1 {
		t.Fatalf("a permanent error retried: %d calls", calls)
	}
}

func TestLockOneWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	if !errors.Is(err, ErrStateInUse) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Fatalf("second writer: %v", err)
	}
	unlock()
	again, err := Lock(path)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

func TestStateSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st, err := LoadState(path)
	if err != nil || st.Bookmark != "" || st.Version != StateVersion {
		t.Fatalf("missing file: %+v %v", st, err)
	}
	bm := BookmarkXML(map[string]uint64{"System": 120, rcm + "/Admin": 7}, "System")
	st = State{Bookmark: bm, Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Saved: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC), Events: 9}
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	st.Version = StateVersion
	if !reflect.DeepEqual(back, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, st)
	}
	// Saving again replaces the file and leaves no temporary behind.
	st.Events = 10
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after two saves", len(entries))
	}
	if back, _ := LoadState(path); back.Events != 10 {
		t.Fatalf("second save not read back: %+v", back)
	}
}

func TestStateCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := State{Bookmark: BookmarkXML(map[string]uint64{"System": 5}, "System")}
	b, _ := os.ReadFile(saveTo(t, dir, good))
	cases := map[string][]byte{
		"truncated":    b[:len(b)/2],
		"empty":        {},
		"not json":     []byte("<BookmarkList/>"),
		"bad field":    bytes.Replace(b, []byte(`"events"`), []byte(`"evnts"`), 1),
		"old version":  bytes.Replace(b, []byte(`"version": 1`), []byte(`"version": 7`), 1),
		"bad bookmark": bytes.Replace(b, []byte("RecordId='5'"), []byte("RecordId='five'"), 1),
	}
	if bytes.Contains(b, []byte(`"events"`)) {
		t.Fatal("zero Events should be omitted")
	}
	cases["bad field"] = bytes.Replace(b, []byte(`"saved"`), []byte(`"saevd"`), 1)
	for name, content := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadState(p)
		if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want ErrCorruptState naming the file", name, err)
		}
		if name == "truncated" && !strings.Contains(err.Error(), "offset") && !strings.Contains(err.Error(), "unexpected EOF") {
			t.Errorf("truncated: error %v does not locate the problem", err)
		}
		to, err := MoveAside(p, time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
		if err != nil || !strings.HasSuffix(to, ".corrupt-20260506T070809Z") {
			t.Errorf("move aside: %s %v", to, err)
		}
		if _, err := LoadState(p); err != nil {
			t.Errorf("after moving aside: %v", err)
		}
	}
}

func saveTo(t *testing.T, dir string, st State) string {
	p := filepath.Join(dir, "good.json")
	if err := st.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBookmarkParse(t *testing.T) {
	// The shape EvtRender(EvtRenderBookmark) returns.
	rendered := "<BookmarkList>\r\n  <Bookmark Channel='System' RecordId='123456' IsCurrent='true'/>\r\n" +
		"  <Bookmark Channel='Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational' RecordId='88'/>\r\n</BookmarkList>"
	pos, err := ParseBookmark(rendered)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"System": 123456, "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational": 88}
	if !reflect.DeepEqual(pos, want) {
		t.Fatalf("positions %v", pos)
	}
	again, err := ParseBookmark(BookmarkXML(pos, "System"))
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Fatalf("BookmarkXML round trip: %v %v", again, err)
	}
	for _, bad := range []string{"", "<BookmarkList><Bookmark RecordId='1'/></BookmarkList>", "<BookmarkList><Bookmark Channel='S' RecordId='-1'/></BookmarkList>", "<Other/>"} {
		if _, err := ParseBookmark(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func ev(channel, computer string, id uint64, t time.Time) *evtx.Event {
	return &evtx.Event{Channel: channel, Computer: computer, RecordID: id, TimeCreated: t}
}

func TestDedupe(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Resumed from a bookmark saved at t0: System up to 100 was delivered.
	d := NewDedupe(false, map[string]uint64{"System": 100}, t0)
	steps := []struct {
		e    *evtx.Event
		want bool
	}{
		{ev("System", "A", 99, t0.Add(-time.Hour)), false},    // replayed
		{ev("System", "A", 100, t0.Add(-time.Minute)), false}, // replayed
		{ev("System", "A", 101, t0.Add(time.Minute)), true},
		{ev("System", "A", 101, t0.Add(time.Minute)), false}, // twice in one batch
		{ev("Microsoft-Windows-TerminalServices-Licensing/Admin", "A", 3, t0), true},
		{ev("system", "A", 102, t0.Add(2*time.Minute)), true}, // channel names are case-insensitive
		// The log was cleared: numbering restarts with later times.
		{ev("System", "A", 1, t0.Add(time.Hour)), true},
		{ev("System", "A", 2, t0.Add(time.Hour)), true},
		{ev("System", "A", 2, t0.Add(time.Hour)), false},
	}
	for i, s := range steps {
		if got := d.New(s.e); got != s.want {
			t.Fatalf("step %d (%s %d): New = %v, want %v", i, s.e.Channel, s.e.RecordID, got, s.want)
		}
	}
	if d.Last("system") != 2 {
		t.Fatalf("last = %d", d.Last("system"))
	}
	// Per computer: two hosts' logs number independently.
	dc := NewDedupe(true, nil, time.Time{})
	if !dc.New(ev("System", "A", 5, t0)) || !dc.New(ev("System", "B", 5, t0)) || dc.New(ev("System", "B", 4, t0)) {
		t.Fatal("per-computer streams not independent")
	}
	if got := strings.Join(dc.Keys(), "|"); got != "a\x00system|b\x00system" {
		t.Fatalf("keys %q", got)
	}
}

// TestDecodeRendered decodes events the way live mode gets them — the XML
// EvtRender returns — and checks they equal the binary decoder's events for
// the same records written by the project's encoder.
func TestDecodeRendered(t *testing.T) {
	at := time.Date(2024, 3, 8, 3, 0, 0, 123456700, time.UTC)
	recs := []writer.Record{
		{Provider: rcm, ProviderGUID: "{C76BAA63-AE81-421C-B425-340B4B24157F}", EventID: 50281, Level: 3, TimeCreated: at,
			Channel: "System", Computer: "RDSH01.contoso.com", ProcessID: 1234, ThreadID: 5678, UserSID: "S-1-5-20",
			Payload: writer.EventXML(writer.String("3/15/2024"))},
		{Provider: "TermService", EventSourceName: "TermService", EventID: 1011, Qualifiers: 0, Level: 2, TimeCreated: at.Add(time.Hour),
			Channel: "System", Computer: "TS2003", Payload: writer.ClassicData("WS-17", "", "Per Device")},
		{Provider: "Microsoft-Windows-TerminalServices-Licensing", ProviderGUID: "{4D5AE6A1-C7C8-4E6D-B840-4D8080B42E1B}", EventID: 21,
			Level: 3, TimeCreated: at.Add(2 * time.Hour), Channel: "System", Computer: "LS01",
			Payload: writer.NamedData("param1", writer.String("LS01"), "param2", writer.String("Windows Server 2019 - RDS Per Device CAL"), "param3", writer.String("RDSH01"))},
	}
	var b bytes.Buffer
	w := writer.New(&b)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err := evtx.Decode(bytes.NewReader(b.Bytes()), "t.evtx", evtx.Options{KeepTree: true}, func(bin *evtx.Event) error {
		rendered := bin.XML()
		got, err := Decode(rendered, "live")
		if err != nil {
			t.Fatalf("record %d: %v\n%s", bin.RecordID, err, rendered)
		}
		if got.File != "live" {
			t.Errorf("File = %q", got.File)
		}
		want := *bin
		want.File, want.Offset, want.Tree = "live", 0, nil
		g := *got
		g.Tree = nil
		if !reflect.DeepEqual(g, want) {
			t.Errorf("record %d:\n xml %+v\n bin %+v\n%s", bin.RecordID, g, want, rendered)
		}
		n++
		return nil
	})
	if err != nil || n != len(recs) {
		t.Fatalf("decoded %d of %d: %v", n, len(recs), err)
	}
	if _, err := Decode("<Event><System>", "live"); err == nil {
		t.Fatal("broken XML accepted")
	}
}

func TestPlanStart(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p, err := PlanStart(State{}, 0, now)
	if err != nil || p.FromOldest || !p.Since.Equal(now) || p.Bookmark != "" {
		t.Fatalf("fresh: %+v %v", p, err)
	}
	p, _ = PlanStart(State{}, 30*24*time.Hour, now)
	if !p.FromOldest || !p.Since.Equal(now.AddDate(0, 0, -30)) {
		t.Fatalf("backfill: %+v", p)
	}
	since := now.Add(-time.Hour)
	p, _ = PlanStart(State{Since: since}, 30*24*time.Hour, now)
	if !p.FromOldest || !p.Since.Equal(since) {
		t.Fatalf("restart before any event keeps its start, not a new backfill: %+v", p)
	}
	bm := BookmarkXML(map[string]uint64{"System": 42}, "System")
	p, _ = PlanStart(State{Bookmark: bm, Since: since}, time.Hour, now)
	if p.Bookmark != bm || p.Positions["System"] != 42 || !p.Since.Equal(since) {
		t.Fatalf("resume: %+v", p)
	}
	if _, err := PlanStart(State{Bookmark: "<x"}, 0, now); err == nil {
		t.Fatal("bad bookmark accepted")
	}
}

func TestSpell(t *testing.T) {
	if got := Spell("termservice"); got != "TermService" {
		t.Fatalf("known: %q", got)
	}
	if got := Spell("my-provider", "My-Provider"); got != "My-Provider" {
		t.Fatalf("from rules: %q", got)
	}
	if got := Spell("unknown-one"); got != "unknown-one" {
		t.Fatalf("unknown: %q", got)
	}
}
