package main

import (
	"errors"
	"fmt"
	"io"
)

// Exit codes, mapped in one place.
const (
	exitOK       = 0 // the job was done and nothing reached --fail-on
	exitFindings = 1 // a finding at or above --fail-on (or a failed rule test)
	exitError    = 2 // the tool could not do its job: bad flags, broken rules, unreadable input
)

// exitCoder lets a command choose its exit code without printing an error.
type exitCoder interface{ ExitCode() int }

type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitErr) Unwrap() error { return e.err }
func (e *exitErr) ExitCode() int { return e.code }

// withCode wraps err so run exits with code; a nil err gives a silent exit.
func withCode(code int, err error) error { return &exitErr{code: code, err: err} }

func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ec exitCoder
	code := exitError
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, "tsdiag:", msg)
	}
	return code
}
