//go:build !windows

package watch

import "os"

// openShared opens a followed file. A handle kept open does not stop the
// file being renamed or removed on Unix.
func openShared(path string) (*os.File, error) { return os.Open(path) }
