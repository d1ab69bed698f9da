package regcfg

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// repeatReader yields head, then fill repeated n times, without holding it.
type repeatReader struct {
	head []byte
	fill []byte
	n    int
	pos  int
	read int64 // bytes handed out
}

func (r *repeatReader) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		if len(r.head) > 0 {
			c := copy(p[k:], r.head)
			r.head = r.head[c:]
			k += c
			continue
		}
		if r.n == 0 {
			break
		}
		c := copy(p[k:], r.fill[r.pos:])
		r.pos += c
		k += c
		if r.pos == len(r.fill) {
			r.pos = 0
			r.n--
		}
	}
	r.read += int64(k)
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// TestLongLineRefused: a huge export of one line (250 MB took 2.8 GB) is
// refused at MaxRegLine with the file and line named, having read little
// more than that line; in UTF-16 and in 8-bit text alike.
func TestLongLineRefused(t *testing.T) {
	for name, enc := range map[string]func(string) []byte{
		"utf8":  func(s string) []byte { return []byte(s) },
		"utf16": func(s string) []byte { return utf16File(s)[2:] },
	} {
		head := enc("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\A]\r\n\"x\"=\"")
		if name == "utf16" {
			head = append([]byte{0xFF, 0xFE}, head...)
		}
		r := &repeatReader{head: head, fill: enc(strings.Repeat("A", 4096)), n: 250 << 20 / 4096}
		_, err := ParseReg(r, "big.reg")
		if err == nil || !strings.HasPrefix(err.Error(), "big.reg:4: ") || !strings.Contains(err.Error(), "MaxRegLine") {
			t.Fatalf("%s: %v", name, err)
		}
		if r.read > 4*MaxRegLine {
			t.Fatalf("%s: read %d bytes to refuse a long line", name, r.read)
		}
	}
}

// TestContinuedValueBounded: a hex value continued over many short lines
// is bounded as one line.
func TestContinuedValueBounded(t *testing.T) {
	head := []byte("REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"x\"=hex:00,\\\n")
	r := &repeatReader{head: head, fill: []byte("  00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,00,\\\n"), n: 1 << 20}
	_, err := ParseReg(r, "hex.reg")
	if err == nil || !strings.HasPrefix(err.Error(), "hex.reg:3: ") || !strings.Contains(err.Error(), "MaxRegLine") {
		t.Fatalf("%v", err)
	}
}

// TestFileSizeBounded: many short lines past MaxRegFileSize are refused,
// naming the file; an export just under it parses.
func TestFileSizeBounded(t *testing.T) {
	head := []byte("REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n")
	line := []byte("\"v\"=dword:00000001\n")
	r := &repeatReader{head: head, fill: line, n: MaxRegFileSize/len(line) + 1}
	if _, err := ParseReg(r, "many.reg"); err == nil || !strings.HasPrefix(err.Error(), "many.reg:") || !strings.Contains(err.Error(), "MaxRegFileSize") {
		t.Fatalf("over: %v", err)
	}
	r = &repeatReader{head: head, fill: line, n: (MaxRegFileSize - len(head)) / len(line)}
	f, err := ParseReg(r, "many.reg")
	if err != nil {
		t.Fatalf("under: %v", err)
	}
	if v, ok := f.Value(`HKLM\A`, "v"); !ok || !bytes.Equal(v.Data, []byte{1, 0, 0, 0}) {
		t.Fatalf("under: value %+v %v", v, ok)
	}
}
