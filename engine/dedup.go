package engine

import (
	"hash/maphash"
	"slices"

	"github.com/tsdiag/tsdiag/evtx"
)

// MaxSeenRecords caps the records remembered for duplicate detection. Only
// records some rule selects are remembered, one 8-byte hash each, held in a
// sorted slice (plus a small map of the newest, merged into it in runs):
// at the cap the set takes 8 MiB plus the map's ~2 MiB. A busy session
// host logs about 900k selected records per GB of log (healthy-2019-rdsh
// with --noise-mb 1024: 899,500; peak RSS of the scan 42.9 → 56.1 MB), so
// the cap covers about a gigabyte of input. Past it new records are still checked against
// those remembered but not added; Stats.DedupUnchecked counts them, since
// a later copy of one of them would be counted twice.
const MaxSeenRecords = 1 << 20

// dedupRun is how many new hashes the map holds before they are merged
// into the sorted slice.
const dedupRun = 1 << 16

// maxDupFiles caps the per-file duplicate counts; further files are
// counted under dupOtherFiles.
const (
	maxDupFiles   = 1024
	dupOtherFiles = "(other files)"
)

// dedup recognises a record seen before: the same file given twice, a copy
// inside a bundle, overlapping rotated logs (Archive-System-*.evtx beside
// System.evtx), or the same record read from an .evtx and from an XML
// export of it. A record is identified by computer, channel, record id,
// time created, event id, provider and payload; where the record id is
// absent (0) the rest still identifies it by content. The payload is part
// of the key so two different records can never be mistaken for one, even
// when a tool rewrote record ids.
type dedup struct {
	seed   maphash.Seed
	sorted []uint64            // merged runs, ascending
	recent map[uint64]struct{} // at most dedupRun not yet merged
	max    int                 // MaxSeenRecords; lower in tests
}

func newDedup() *dedup {
	return &dedup{seed: maphash.MakeSeed(), recent: map[uint64]struct{}{}, max: MaxSeenRecords}
}

func (d *dedup) size() int { return len(d.sorted) + len(d.recent) }

// seenBefore reports whether ev was seen already, remembering it if not
// (while under the cap). full is true when ev could not be remembered.
func (d *dedup) seenBefore(ev *evtx.Event) (dup, full bool) {
	k := d.key(ev)
	if _, ok := d.recent[k]; ok {
		return true, false
	}
	if _, ok := slices.BinarySearch(d.sorted, k); ok {
		return true, false
	}
	if d.size() >= d.max {
		return false, true
	}
	d.recent[k] = struct{}{}
	if len(d.recent) >= dedupRun {
		d.merge()
	}
	return false, false
}

// merge folds the recent hashes into the sorted slice, from the back and
// in place, so a merge needs no second copy of the slice.
func (d *dedup) merge() {
	run := make([]uint64, 0, len(d.recent))
	for k := range d.recent {
		run = append(run, k)
	}
	slices.Sort(run)
	n := len(d.sorted)
	d.sorted = slices.Grow(d.sorted, len(run))[:n+len(run)]
	i, j, w := n-1, len(run)-1, n+len(run)-1
	for j >= 0 {
		if i >= 0 && d.sorted[i] > run[j] {
			d.sorted[w] = d.sorted[i]
			i--
		} else {
			d.sorted[w] = run[j]
			j--
		}
		w--
	}
	clear(d.recent)
}

func (d *dedup) key(ev *evtx.Event) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	str := func(s string) {
		h.WriteString(s)
		h.WriteByte(0)
	}
	num := func(n uint64) {
		var b [8]byte
		for i := range b {
			b[i] = byte(n >> (8 * i))
		}
		h.Write(b[:])
	}
	str(ev.Computer)
	str(ev.Channel)
	num(ev.RecordID)
	num(uint64(ev.TimeCreated.UTC().UnixNano()))
	num(uint64(ev.EventID))
	str(ev.Provider)
	num(uint64(len(ev.Params)))
	for _, p := range ev.Params {
		str(p)
	}
	return h.Sum64()
}

// duplicate reports whether ev is a record seen before and counts it.
func (e *Engine) duplicate(ev *evtx.Event) bool {
	if e.dedup == nil {
		e.dedup = newDedup()
	}
	dup, full := e.dedup.seenBefore(ev)
	if full {
		e.stats.DedupUnchecked++
	}
	if !dup {
		return false
	}
	e.stats.Duplicates++
	if e.stats.DuplicatesByFile == nil {
		e.stats.DuplicatesByFile = map[string]int{}
	}
	name := ev.File
	if _, ok := e.stats.DuplicatesByFile[name]; !ok && len(e.stats.DuplicatesByFile) >= maxDupFiles {
		name = dupOtherFiles
	}
	e.stats.DuplicatesByFile[name]++
	return true
}
