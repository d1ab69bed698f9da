// Package spool copies a stream that must be read at random offsets (a zip
// on stdin or inside a tar, a legacy .evt whose circular buffer is read out
// of order) into a temporary file, so its size costs disk, never memory.
package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// File is a stream spilled to a temporary file in os.TempDir. Close removes
// it; on systems that allow it the file is unlinked at once, so not even a
// killed process leaves it behind.
type File struct {
	f       *os.File
	Size    int64
	removed bool
}

// ErrTooLarge is returned (wrapped) when the stream holds more than the
// bound given to Copy.
var ErrTooLarge = errors.New("larger than the spool limit")

// Copy spills r to a temporary file, reading at most max bytes: a larger
// stream is refused with ErrTooLarge (the file is removed). A read error
// of r is returned with the File holding what was read before it.
func Copy(r io.Reader, max int64) (*File, error) {
	f, err := os.CreateTemp("", "tsdiag-spool-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file in %s: %w", os.TempDir(), err)
	}
	s := &File{f: f}
	if os.Remove(f.Name()) == nil {
		s.removed = true
	}
	n, err := io.Copy(f, io.LimitReader(r, max+1))
	s.Size = n
	if err == nil && n > max {
		s.Close()
		return nil, fmt.Errorf("%w of %d bytes (a temporary file in %s)", ErrTooLarge, max, os.TempDir())
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && pe.Path == f.Name() {
			// The disk, not the input, failed: nothing useful was kept.
			s.Close()
			return nil, fmt.Errorf("cannot write a temporary file in %s: %w", os.TempDir(), pe.Err)
		}
		return s, err
	}
	return s, nil
}

// ReadAt reads the spilled bytes.
func (s *File) ReadAt(p []byte, off int64) (int, error) { return s.f.ReadAt(p, off) }

// Close closes and removes the temporary file.
func (s *File) Close() error {
	err := s.f.Close()
	if !s.removed {
		if rerr := os.Remove(s.f.Name()); err == nil {
			err = rerr
		}
	}
	return err
}
