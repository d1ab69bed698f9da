package evt

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx/evt/evtenc"
)

// TestAgainstLibevt is the independent check of both the test encoder and
// the decoder: libyal's evtexport (Debian libevt-utils) must read every
// record we read, with the same values.
func TestAgainstLibevt(t *testing.T) {
	tool, err := exec.LookPath("evtexport")
	if err != nil {
		t.Skip("evtexport not installed (apt-get install libevt-utils); skipping the independent check")
	}
	recs := termService(120)
	recs[7].Strings = []string{"ünïcødé", "", "tail"}
	for _, opts := range []evtenc.Options{{}, {MaxSize: 3000}, {MaxSize: 3001 &^ 3}, {MaxSize: 4444, Dirty: true}, {MaxSize: 5000, Dirty: true}} {
		b, err := evtenc.Encode(recs, opts)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "SysEvent.Evt")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, path).Output()
		if err != nil {
			t.Fatalf("evtexport: %v", err)
		}
		theirs := parseEvtexport(out)
		evs, _ := decodeAll(t, b, path, Options{})
		ours := map[string]bool{}
		for _, e := range evs {
			ours[fmt.Sprintf("%d|%s|%s|0x%08x|%q", e.RecordID, e.Provider, e.Computer,
				uint32(e.Qualifiers)<<16|uint32(e.EventID), e.Params)] = true
		}
		// libevt stops at a record split across the end of a dirty
		// buffer, so there it reads a subset of what is in the file; the
		// wrapped tests check we read all of it.
		if len(theirs) == 0 || len(evs) < len(theirs) || !opts.Dirty && len(evs) != len(theirs) {
			t.Fatalf("%+v: we read %d records, evtexport %d", opts, len(evs), len(theirs))
		}
		for _, r := range theirs {
			if !ours[r] {
				t.Fatalf("%+v: evtexport read %s, we did not", opts, r)
			}
		}
	}
}

// parseEvtexport turns evtexport's text into one line per record in the
// same shape the test renders ours.
func parseEvtexport(out []byte) []string {
	var recs []string
	var num, src, comp, id string
	var strs []string
	flush := func() {
		if num != "" {
			recs = append(recs, fmt.Sprintf("%s|%s|%s|%s|%q", num, src, comp, id, strs))
		}
		num, strs = "", nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "\t:")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimPrefix(v, " ")
		switch {
		case k == "Event number":
			flush()
			num = v
		case k == "Source name":
			src = v
		case k == "Computer name":
			comp = v
		case k == "Event identifier":
			id, _, _ = strings.Cut(v, " ")
		case strings.HasPrefix(k, "String"):
			strs = append(strs, v)
		}
	}
	flush()
	return recs
}
