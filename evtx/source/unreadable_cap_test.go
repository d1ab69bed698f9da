package source

import (
	"archive/zip"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
)

// A bundle of more corrupt logs than Stats keeps by name: the first
// MaxUnreadable are named, the rest counted, none twice.
func TestUnreadableListIsCapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bundle.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	n := evtx.MaxUnreadable + 200
	for i := 0; i < n; i++ {
		w, _ := zw.Create(fmt.Sprintf("logs/m%04d.evtx", i))
		w.Write([]byte("ElfFile\x00cut short"))
	}
	zw.Close()
	f.Close()
	st, _ := Walk([]string{path}, Options{}, func(*evtx.Event) error { return nil })
	if len(st.Unreadable) != evtx.MaxUnreadable || st.UnreadableCount() != n {
		t.Errorf("kept %d, counted %d; want %d of %d", len(st.Unreadable), st.UnreadableCount(), evtx.MaxUnreadable, n)
	}
}
