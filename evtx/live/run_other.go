//go:build !windows

package live

import (
	"context"
	"errors"
)

// ErrUnsupported is returned by Run where there is no Windows event log.
var ErrUnsupported = errors.New("live subscription needs the Windows event log; on this system follow a copied log with 'tsdiag watch PATH'")

// Run is only available on Windows.
func Run(ctx context.Context, opts Options, st State, plan Plan, h Handler) error {
	return ErrUnsupported
}

// Local is only available on Windows.
func Local() (Log, error) { return nil, ErrUnsupported }
