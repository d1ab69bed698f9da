package live

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

var errLocked = errors.New("locked")

// ErrStateInUse marks a state file another tsdiag process holds.
var ErrStateInUse = errors.New("state file in use")

// Lock makes this process the one writer of the state file at path: a
// service and an interactive run must not advance one bookmark each. The
// lock is on path+".lock", held until unlock (or the process ends: the OS
// drops the lock with the handle, so a crash leaves nothing stale). The
// lock file holds the holder's pid for the refusal message.
func Lock(path string) (unlock func(), err error) {
	lp := path + ".lock"
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("state file lock %s: %w", lp, err)
	}
	if err := lockFile(f); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(lp); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (process %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w: %s is held by another tsdiag live%s; a service and an interactive run each need their own --state", ErrStateInUse, path, holder)
		}
		return nil, fmt.Errorf("state file lock %s: %w", lp, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, nil
}
