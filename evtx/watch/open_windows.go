//go:build windows

package watch

import (
	"os"

	"golang.org/x/sys/windows"
)

// openShared opens a followed file allowing others to rename or delete it
// while the handle stays open (FILE_SHARE_DELETE, which os.Open does not
// ask for): the handle kept between polls must never stop the event log
// from rotating its file.
func openShared(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
