package source

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// regHook takes files that start with a regedit header and keeps their
// whole content by name; "bad" in the content is an error.
func regHook(got map[string]string) func(string, []byte, io.Reader) (bool, error) {
	return func(name string, head []byte, r io.Reader) (bool, error) {
		if !bytes.HasPrefix(head, []byte("Windows Registry Editor")) {
			return false, nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return true, err
		}
		if bytes.Contains(b, []byte("bad")) {
			return true, errors.New(name + ": line 2: bad value")
		}
		got[name] = string(b)
		return true, nil
	}
}

const regText = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n\"LicensingMode\"=dword:00000004\r\n"

func TestOnOtherInDirectoryAndBundles(t *testing.T) {
	dir := t.TempDir()
	// Larger than SniffLen, so the hook must get the head back in r.
	long := regText + strings.Repeat(";comment\r\n", 200)
	ms := []member{
		{"RDSH01/licensing.reg", []byte(long)},
		{"RDSH01/SysEvent.Evt", evtLog(t, "RDSH01", 2)},
		{"RDSH01/notes.txt", []byte("notes")},
		{"RDSH02/broken.reg", []byte(regText + "bad\r\n")},
	}
	for _, m := range ms {
		write(t, dir, "folder/"+m.name, m.data)
	}
	tgz := write(t, dir, "case.tgz", gz(tarOf(t, ms...)))
	zp := write(t, dir, "case.zip", zipOf(t, ms...))
	named := write(t, dir, "RDSH03-TermService.reg", []byte(regText))
	got := map[string]string{}
	r := walk(t, []string{dir + "/folder", tgz, zp, named}, Options{OnOther: regHook(got)})
	if r.err != nil || r.st.Files != 3 || len(r.events) != 6 {
		t.Fatalf("err %v, files %d, events %d", r.err, r.st.Files, len(r.events))
	}
	want := []string{dir + "/folder/RDSH01/licensing.reg", tgz + "!RDSH01/licensing.reg", zp + "!RDSH01/licensing.reg", named}
	for _, n := range want {
		if got[n] == "" {
			t.Errorf("hook did not get %s (got %v)", n, keys(got))
		}
	}
	if got[want[1]] != long || got[want[2]] != long || got[named] != regText {
		t.Error("hook did not read the whole file, head included")
	}
	var skipped, unreadable []string
	for _, s := range r.st.Skipped {
		skipped = append(skipped, s.File)
	}
	for _, u := range r.st.Unreadable {
		unreadable = append(unreadable, u.File+": "+u.Reason)
	}
	wantSkipped := []string{dir + "/folder/RDSH01/notes.txt", tgz + "!RDSH01/notes.txt", zp + "!RDSH01/notes.txt"}
	if !reflect.DeepEqual(skipped, wantSkipped) {
		t.Errorf("skipped = %v, want %v", skipped, wantSkipped)
	}
	if len(unreadable) != 3 || !strings.HasSuffix(unreadable[0], "RDSH02/broken.reg: line 2: bad value") {
		t.Errorf("unreadable = %v, want the three broken.reg with the hook's reason", unreadable)
	}
}

// SkipLogs walks for OnOther alone: no event is decoded.
func TestSkipLogs(t *testing.T) {
	dir := t.TempDir()
	ms := []member{{"a/licensing.reg", []byte(regText)}, {"a/SysEvent.Evt", evtLog(t, "A", 3)}, {"a/rcm.xml", xmlExport("A", 2)}}
	tgz := write(t, dir, "case.tgz", gz(tarOf(t, ms...)))
	evt := write(t, dir, "SysEvent.Evt", evtLog(t, "A", 3))
	got := map[string]string{}
	r := walk(t, []string{tgz, evt}, Options{OnOther: regHook(got), SkipLogs: true})
	if len(r.events) != 0 || len(got) != 1 || got[tgz+"!a/licensing.reg"] != regText {
		t.Fatalf("events %d, hook got %v", len(r.events), keys(got))
	}
	if r.err == nil || !strings.Contains(r.err.Error(), "1 read as other input") {
		t.Errorf("err = %v, want no event logs with 1 other input", r.err)
	}
}

// Without a hook, a .reg is skipped as before.
func TestOnOtherUnset(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "x/licensing.reg", []byte(regText))
	write(t, dir, "x/SysEvent.Evt", evtLog(t, "A", 1))
	r := walk(t, []string{dir}, Options{})
	if len(r.st.Skipped) != 1 || !strings.HasSuffix(r.st.Skipped[0].File, "licensing.reg") {
		t.Fatalf("skipped %+v", r.st.Skipped)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
