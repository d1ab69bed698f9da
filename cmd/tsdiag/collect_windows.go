//go:build windows

package main

import (
	"context"
	"io"
	"time"

	"github.com/tsdiag/tsdiag/internal/collect"
)

func runCollect(ctx context.Context, out string, since time.Duration, stdout io.Writer) error {
	return collectTo(ctx, collect.NewWindowsHost(), out, since, time.Now(), stdout)
}
