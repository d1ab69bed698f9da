package source

import (
	"io"

	"github.com/tsdiag/tsdiag/evtx"
)

// Defaults for the limits in Options. They are generous for real support
// bundles and stop hostile archives long before they exhaust the machine.
const (
	// DefaultMaxArchiveBytes caps the uncompressed bytes read from one
	// top-level archive, nested archives included.
	DefaultMaxArchiveBytes = 64 << 30
	// DefaultMaxMembers caps the files in one top-level archive.
	DefaultMaxMembers = 100000
	// DefaultMaxRatio caps a member's uncompressed/compressed size ratio.
	// EVTX compresses about 5-20x; zeroed slack in a fresh log reaches a
	// few hundred. Deflate cannot exceed about 1032x, so a bomb needs many
	// members or nesting; the other limits catch those.
	DefaultMaxRatio = 500
	// DefaultMaxNesting allows a bundle inside a bundle, nothing deeper.
	DefaultMaxNesting = 1
	// DefaultMaxSpool caps a zip or legacy .evt that has to be spilled to
	// a temporary file because it cannot be read at random offsets
	// (nested in another archive, or on stdin). Real support bundles are
	// at most a few GB; .evt logs a few hundred MB. Nothing is ever held
	// in memory for this, and at most two spills exist at once (a zip on
	// stdin and a zip or .evt inside it).
	DefaultMaxSpool = 8 << 30
	// DefaultMaxScanArchiveBytes and DefaultMaxScanMembers are the same
	// limits for all archives of one walk together, so a folder of
	// hostile bundles cannot cost without bound either: four bundles at
	// their limit.
	DefaultMaxScanArchiveBytes = 4 * DefaultMaxArchiveBytes
	DefaultMaxScanMembers      = 4 * DefaultMaxMembers
	// minRatioBytes is how much a member may expand before its ratio is
	// judged: tiny members legitimately have absurd ratios.
	minRatioBytes = 1 << 20
)

// Options tune Walk. Zero values mean the defaults.
type Options struct {
	// Filter is passed to every decoder: records it rejects are skipped
	// before their payload is decoded.
	Filter evtx.Filter
	// Workers is how many chunks of an EVTX file or stream decode in
	// parallel (0: GOMAXPROCS, the cores this process may use; 1:
	// sequential). Events still arrive in file order. A stream (archive
	// member, stdin) is read in order while its chunks decode in parallel.
	Workers int
	// KeepTree keeps each EVTX event's element tree (Event.Tree) for XML
	// rendering. XML and .evt inputs always carry it.
	KeepTree bool
	// Render and Output, when both set, write every EVTX record straight
	// to Output as a JSON or XML line (evtx.Options.Render) instead of
	// delivering it to fn; other inputs (XML exports, .evt) still reach fn.
	Render evtx.Render
	Output func([]byte) error

	MaxArchiveBytes     int64   // total uncompressed bytes per top-level archive
	MaxMembers          int     // files per top-level archive
	MaxScanArchiveBytes int64   // uncompressed archive bytes of the whole walk
	MaxScanMembers      int     // archive members of the whole walk
	MaxRatio            float64 // uncompressed/compressed bytes per member (zip, tar, gzip)
	MaxNesting          int     // archives inside archives (1: one level)
	MaxSpool            int64   // a zip or .evt spilled to a temporary file (nested or stdin)
	XMLMaxDepth         int     // element nesting in XML exports
	XMLMaxBytes         int64   // bytes of one XML event

	// Progress, when set, is called as input is read: bytes of the named
	// inputs read so far, their total size (0 when unknown, e.g. stdin),
	// and log files decoded so far.
	Progress func(doneBytes, totalBytes int64, files int)

	// Stdin is read for the input "-"; nil means os.Stdin.
	Stdin io.Reader

	// OnOther, when set, is offered every file and archive member that is
	// not an event log or bundle, before it would be listed as skipped (or,
	// named as an input, unreadable): name as in Event.File, its first
	// bytes (up to SniffLen) and a reader of all of it, head included.
	// Returning true takes the file (it is neither skipped nor counted
	// among the log files); an error lists it as unreadable with that
	// reason. tsdiag scan reads registry exports (.reg) this way.
	OnOther func(name string, head []byte, r io.Reader) (bool, error)
	// SkipLogs recognises event logs but does not decode them, so a walk
	// only feeds OnOther (a first pass that must see every .reg export
	// before the first event is evaluated).
	SkipLogs bool
}

func (o Options) withDefaults() Options {
	if o.MaxArchiveBytes <= 0 {
		o.MaxArchiveBytes = DefaultMaxArchiveBytes
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = DefaultMaxMembers
	}
	if o.MaxRatio <= 0 {
		o.MaxRatio = DefaultMaxRatio
	}
	if o.MaxNesting <= 0 {
		o.MaxNesting = DefaultMaxNesting
	}
	if o.MaxSpool <= 0 {
		o.MaxSpool = DefaultMaxSpool
	}
	if o.MaxScanArchiveBytes <= 0 {
		o.MaxScanArchiveBytes = DefaultMaxScanArchiveBytes
	}
	if o.MaxScanMembers <= 0 {
		o.MaxScanMembers = DefaultMaxScanMembers
	}
	return o
}
