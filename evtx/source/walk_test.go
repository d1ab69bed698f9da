package source

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

func TestDetect(t *testing.T) {
	tarHead := tarOf(t, member{"a", []byte("x")})
	for want, head := range map[Format][]byte{
		EVTX: []byte("ElfFile\x00rest"), EVT: evtLog(t, "H", 1)[:64], Zip: zipOf(t, member{"a", nil})[:8],
		Gzip: gz([]byte("x")), Tar: tarHead, XML: []byte("\ufeff  <Events>"), Unknown: []byte("Windows Registry Editor"),
	} {
		if got := Detect(head); got != want {
			t.Errorf("%s detected as %s", want, got)
		}
	}
	// Names never matter: a log called .txt is a log, a text called .evtx is not.
	dir := t.TempDir()
	r := walk(t, []string{write(t, dir, "notes.txt", evtLog(t, "A", 3)), write(t, dir, "fake.evtx", []byte("hello"))}, Options{})
	if len(r.events) != 3 || len(r.st.Unreadable) != 1 || !strings.HasSuffix(r.st.Unreadable[0].File, "fake.evtx") {
		t.Fatalf("%d events, unreadable %+v", len(r.events), r.st.Unreadable)
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "b/SysEvent.Evt", evtLog(t, "B", 4))
	write(t, dir, "a/export.xml", xmlExport("A", 3))
	write(t, dir, "a/notes.txt", []byte("admin notes"))
	write(t, dir, "c/licensing.reg", []byte("Windows Registry Editor Version 5.00\r\n"))
	write(t, dir, "c/list.csv", []byte("a,b\n"))
	write(t, dir, "c/config.xml", []byte("<configuration/>"))
	r := walk(t, []string{dir}, Options{})
	if r.err != nil || len(r.events) != 7 || r.st.Files != 2 || len(r.st.Skipped) != 4 || len(r.st.Unreadable) != 0 {
		t.Fatalf("err %v, %d events, stats %+v", r.err, len(r.events), r.st)
	}
	// Lexical order: a/ before b/.
	if !strings.HasSuffix(r.files[0], "a/export.xml") || !strings.HasSuffix(r.files[6], filepath.Join("b", "SysEvent.Evt")) {
		t.Fatalf("order: %v", r.files)
	}
	if e := r.events[0]; e.Provider != "Microsoft-Windows-TerminalServices-RemoteConnectionManager" || e.EventID != 1128 || e.Param(1) != "0" {
		t.Fatalf("XML event: %+v", e)
	}
	if e := r.events[3]; e.Provider != "TermService" || e.EventID != 1008 || e.Qualifiers != 0xC000 || e.Channel != "System" {
		t.Fatalf("EVT event: %+v", e)
	}
	again := walk(t, []string{dir}, Options{})
	if !reflect.DeepEqual(r.files, again.files) {
		t.Fatal("two walks of one directory differ")
	}
	// A symbolic link to the folder is walked as the folder, its files
	// named under the link.
	link := filepath.Join(t.TempDir(), "bundle")
	if err := os.Symlink(dir, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	linked := walk(t, []string{link}, Options{})
	if linked.err != nil || len(linked.events) != 7 || linked.st.Files != 2 || !strings.HasPrefix(linked.files[0], link+string(filepath.Separator)) {
		t.Fatalf("through a link: err %v, %d events, files %v", linked.err, len(linked.events), linked.files)
	}
}

func bundleMembers(t *testing.T) []member {
	return []member{
		{"logs/SysEvent.Evt", evtLog(t, "TS1", 5)},
		{"logs/readme.txt", []byte("collected by support")},
		{"logs/rcm.xml", xmlExport("TS2", 2)},
	}
}

func TestBundles(t *testing.T) {
	dir := t.TempDir()
	ms := bundleMembers(t)
	inputs := map[string][]byte{
		"bundle.zip": zipOf(t, ms...), "bundle.tar": tarOf(t, ms...), "bundle.tgz": gz(tarOf(t, ms...)),
		"bundle.tar.gz": gz(tarOf(t, ms...)),
	}
	for name, b := range inputs {
		p := write(t, dir, name, b)
		r := walk(t, []string{p}, Options{})
		want := map[string]int{p + "!logs/SysEvent.Evt": 5, p + "!logs/rcm.xml": 2}
		if r.err != nil || !reflect.DeepEqual(countByFile(r.files), want) || len(r.st.Skipped) != 1 ||
			r.st.Skipped[0].File != p+"!logs/readme.txt" || len(r.st.Unreadable) != 0 {
			t.Fatalf("%s: err %v, events %v, stats %+v", name, r.err, countByFile(r.files), r.st)
		}
		if r.events[0].Channel != "System" || r.events[0].Computer != "TS1" {
			t.Fatalf("%s: first event %+v", name, r.events[0])
		}
	}
}

func TestNested(t *testing.T) {
	inner := gz(tarOf(t, member{"SysEvent.Evt", evtLog(t, "IN", 3)}))
	innerZip := zipOf(t, member{"x/rcm.xml", xmlExport("Z", 2)})
	tooDeep := zipOf(t, member{"deep.tgz", gz(tarOf(t, member{"SysEvent.Evt", evtLog(t, "DEEP", 1)}))})
	outer := zipOf(t,
		member{"server1/logs.tgz", inner},
		member{"server2/logs.zip", innerZip},
		member{"server3/bundle.zip", tooDeep},
		member{"SysEvent.Evt", evtLog(t, "TOP", 2)},
	)
	p := write(t, t.TempDir(), "case.zip", outer)
	r := walk(t, []string{p}, Options{})
	want := map[string]int{
		p + "!server1/logs.tgz!SysEvent.Evt": 3, p + "!server2/logs.zip!x/rcm.xml": 2, p + "!SysEvent.Evt": 2,
	}
	if r.err != nil || !reflect.DeepEqual(countByFile(r.files), want) {
		t.Fatalf("err %v, events %v, stats %+v", r.err, countByFile(r.files), r.st)
	}
	if len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p+"!server3/bundle.zip!deep.tgz" ||
		!strings.Contains(r.st.Unreadable[0].Reason, "nested more than 1 deep") {
		t.Fatalf("nesting depth 2 not rejected: %+v", r.st.Unreadable)
	}
}

func TestStdin(t *testing.T) {
	for name, b := range map[string][]byte{
		"tgz": gz(tarOf(t, bundleMembers(t)...)), "zip": zipOf(t, bundleMembers(t)...), "evt": evtLog(t, "S", 7),
	} {
		r := walk(t, []string{"-"}, Options{Stdin: bytes.NewReader(b)})
		if r.err != nil || len(r.events) != 7 || !strings.HasPrefix(r.files[0], StdinName) {
			t.Fatalf("%s on stdin: err %v, %d events, %v", name, r.err, len(r.events), r.st)
		}
	}
}

func TestExplicitNotALog(t *testing.T) {
	p := write(t, t.TempDir(), "System.evtx", []byte("Windows Registry Editor Version 5.00"))
	r := walk(t, []string{p}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), p) || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p {
		t.Fatalf("err %v, stats %+v", r.err, r.st)
	}
	r = walk(t, []string{filepath.Join(t.TempDir(), "missing.evtx")}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), "missing.evtx: no such file") {
		t.Fatalf("missing file: %v", r.err)
	}
	r = walk(t, []string{t.TempDir()}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), "no event logs found") {
		t.Fatalf("empty directory: %v", r.err)
	}
}

func TestFilterAndCallbackError(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.evt", evtLog(t, "A", 4))
	write(t, dir, "b.xml", xmlExport("B", 4))
	r := walk(t, []string{dir}, Options{Filter: func(p string, id uint16) bool { return id == 1128 }})
	if len(r.events) != 4 || r.st.Records != 8 || r.st.Matched != 4 {
		t.Fatalf("%d events, stats %+v", len(r.events), r.st)
	}
	stop := errors.New("stop")
	n := 0
	_, err := Walk([]string{dir}, Options{}, func(*evtx.Event) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("callback error: %v after %d events", err, n)
	}
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	var total int64
	for i, b := range [][]byte{evtLog(t, "A", 3), zipOf(t, bundleMembers(t)...), gz(tarOf(t, bundleMembers(t)...))} {
		write(t, dir, string(rune('a'+i))+".bin", b)
		total += int64(len(b))
	}
	var calls [][3]int64
	r := walk(t, []string{dir}, Options{Progress: func(done, tot int64, files int) {
		calls = append(calls, [3]int64{done, tot, int64(files)})
	}})
	last := calls[len(calls)-1]
	if r.err != nil || last != [3]int64{total, total, 5} {
		t.Fatalf("final progress %v, want [%d %d 5]; stats %+v", last, total, total, r.st)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] < calls[i-1][0] {
			t.Fatalf("progress went backwards: %v", calls)
		}
	}
}

// TestPermissionDenied needs an unprivileged user: as root a chmod 000 file
// still opens, so the test re-runs itself as nobody through setpriv when it
// can, and skips (saying why) when it cannot.
func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		rerunAsNobody(t, "TestPermissionDenied")
		return
	}
	dir := t.TempDir()
	p := write(t, dir, "locked/SysEvent.Evt", evtLog(t, "A", 2))
	write(t, dir, "open/SysEvent.Evt", evtLog(t, "B", 3))
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(p, 0o644)
	if f, err := os.Open(p); err == nil {
		f.Close()
		t.Skip("a chmod 000 file still opens for this user; permission errors cannot be produced here")
	}
	r := walk(t, []string{dir}, Options{})
	if len(r.events) != 3 || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].Reason != "permission denied" || r.st.Unreadable[0].File != p {
		t.Fatalf("%d events, unreadable %+v", len(r.events), r.st.Unreadable)
	}
	r = walk(t, []string{p}, Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), p+": permission denied") {
		t.Fatalf("named input: %v", r.err)
	}
}

// rerunAsNobody runs one test of this binary as user nobody.
func rerunAsNobody(t *testing.T, name string) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("running as root and setpriv is missing: permission errors cannot be produced")
	}
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Skipf("cannot copy the test binary: %v", err)
	}
	dir, err := os.MkdirTemp("", "tsdiag-perm")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "source.test")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe, "-test.run", "^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), "TMPDIR="+dir, "HOME="+dir)
	os.Chmod(dir, 0o1777)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s as nobody: %v\n%s", name, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Skipf("%s as nobody did not run to a pass:\n%s", name, out)
	}
	t.Logf("ran as nobody:\n%s", out)
}

// TestFileChangesWhileRead appends to a log while it is being read, as a
// live system writing to a log on a share would.
func TestFileChangesWhileRead(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "export.xml", xmlExport("A", 3))
	write(t, dir, "z.evt", evtLog(t, "B", 2))
	grew := false
	r := result{}
	r.st, r.err = Walk([]string{dir}, Options{}, func(e *evtx.Event) error {
		if !grew {
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write(xmlExport("A", 1))
			f.Close()
			grew = true
		}
		r.events = append(r.events, e)
		return nil
	})
	if r.err != nil || len(r.st.Unreadable) != 1 || r.st.Unreadable[0].File != p ||
		!strings.Contains(r.st.Unreadable[0].Reason, "changed while it was read") {
		t.Fatalf("err %v, unreadable %+v", r.err, r.st.Unreadable)
	}
	if n := countByFile(fileNames(r.events))[filepath.Join(dir, "z.evt")]; n != 2 {
		t.Fatalf("walk did not continue after the changing file: %d events from z.evt", n)
	}
}

func fileNames(evs []*evtx.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, e.File)
	}
	return s
}
