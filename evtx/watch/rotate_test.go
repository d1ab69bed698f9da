package watch_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/watch"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

func sortByID(evs []*evtx.Event) {
	sort.Slice(evs, func(i, j int) bool { return evs[i].RecordID < evs[j].RecordID })
}

// sameCount is sameIDs with a short message: how many were lost.
func sameCount(t *testing.T, what string, got []*evtx.Event, want []uint64) {
	t.Helper()
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("%s: %d records delivered (ids %d..%d), want %d (%d..%d)", what, len(got), first(ids(got)), last(ids(got)), len(want), first(want), last(want))
	}
}

func first(v []uint64) uint64 {
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

func last(v []uint64) uint64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

func allIDs(recs []writer.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.RecordID
	}
	return out
}

// TestFollowFileRotationMidWrite follows one file that is written to after
// the last poll and then renamed away (out of the watched folder's view:
// another folder) and replaced by a new log continuing the numbering, all
// while the poll loop is parked: every record is delivered once, the tail
// of the old file through the handle kept from the last poll. Before, the
// records written between the last poll and the rotation were lost (17,084
// of 18,190 in issue #19's test). Then the same with a poll in between
// that finds no file at all.
func TestFollowFileRotationMidWrite(t *testing.T) {
	for _, gap := range []bool{false, true} {
		dir := t.TempDir()
		archived := t.TempDir()
		path := filepath.Join(dir, "System.evtx")
		recs := serverLog("RDSH01", 3000, 12, 1, start)
		a, b := len(recs)/3, 2*len(recs)/3
		growTo(t, path, encode(t, recs[:a]))
		f := follow(t, path, watch.Options{})
		got := f.take()
		sortByID(got)
		sameCount(t, "initial", got, allIDs(recs[:a]))
		rotate := func() {
			growTo(t, path, encode(t, recs[:b])) // written after the last poll
			if err := os.Rename(path, filepath.Join(archived, "Archive-System.evtx")); err != nil {
				t.Fatal(err)
			}
		}
		replace := func() { growTo(t, path, encode(t, recs[b:])) }
		if gap {
			f.change(t, rotate)
			f.settle(t)
			f.change(t, replace)
		} else {
			f.change(t, func() { rotate(); replace() })
		}
		f.settle(t)
		got = f.take()
		sortByID(got)
		sameCount(t, "after rotation", got, allIDs(recs[a:]))
		if k := f.noteKinds(); !strings.Contains(k, "rotated") {
			t.Fatalf("gap %v: notes %q, want rotated", gap, k)
		}
		// The new file is followed as it grows.
		more := serverLog("RDSH01", 200, 2, uint64(len(recs)+1), start.AddDate(0, 0, 13))
		f.change(t, func() { growTo(t, path, encode(t, append(append([]writer.Record(nil), recs[b:]...), more...))) })
		f.settle(t)
		got = f.take()
		sortByID(got)
		sameCount(t, "after growth", got, allIDs(more))
		f.stop(t)
	}
}
