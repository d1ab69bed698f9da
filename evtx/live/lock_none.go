//go:build !unix && !windows

package live

// Systems without file locks here (js, plan9) have no live mode either.
func lockFile(interface{}) error { return nil }

func transientReplaceError(error) bool { return false }
