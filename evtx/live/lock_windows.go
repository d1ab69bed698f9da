//go:build windows

package live

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockFile locks one byte far past the file's content with LockFileEx
// (exclusive, fail immediately), so the holder's pid at the start stays
// readable by the process that is refused. The lock goes with the handle:
// a crashed process leaves no stale lock.
// LockFileEx: https://learn.microsoft.com/en-us/windows/win32/api/fileapi/nf-fileapi-lockfileex
func lockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	ol.Offset = 0x7ffffff0
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errLocked
	}
	return err
}

// transientReplaceError tells the errors MoveFileEx(MOVEFILE_REPLACE_EXISTING)
// (os.Rename) gives while another process briefly holds the target open
// without FILE_SHARE_DELETE: ERROR_SHARING_VIOLATION (32), ERROR_LOCK_VIOLATION
// (33), and ERROR_ACCESS_DENIED (5), which is also what a file in the
// "delete pending" state returns. System Error Codes (0-499):
// https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--0-499-
// That scanners cause exactly these is experience, not documentation: unconfirmed.
func transientReplaceError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}
