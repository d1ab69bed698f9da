package regcfg

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseReg: any bytes give an export or an error naming the file, and
// whatever parses can be interpreted.
func FuzzParseReg(f *testing.F) {
	f.Add(utf16File(exportText()))
	f.Add([]byte(exportText()))
	f.Add([]byte("REGEDIT4\n[HKLM\\A]\n\"x\"=hex(7):41,00,\\\n  00\n"))
	f.Add([]byte("Windows Registry Editor Version 5.00\n[-HKLM\\A]\n@=\"v\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, err := ParseReg(bytes.NewReader(b), "fuzz.reg")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.reg") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		c := Read(rf, "fuzz.reg")
		_ = c.Flat()
		for _, v := range c.Values {
			_ = v.Data
		}
	})
}
