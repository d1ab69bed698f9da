// Command embed is a CI gate over a folder of support bundles built on the
// tsdiag API: it writes the diagnosis as SARIF on stdout and exits like
// `tsdiag scan --fail-on medium`: 0 nothing at or above medium, 1 a finding
// at or above medium, 2 the scan cannot be trusted (an input unreadable, or
// the time window set aside every licensing event).
//
//	go run ./examples/embed bundles/ > tsdiag.sarif
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tsdiag/tsdiag"
)

func main() {
	code, err := gate(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsdiag:", err)
	}
	os.Exit(code)
}

func gate(args []string) (int, error) {
	if len(args) != 1 {
		return tsdiag.ExitError, errors.New("usage: embed BUNDLES-DIR > tsdiag.sarif")
	}
	d, err := tsdiag.New(tsdiag.Config{FailOn: "medium"})
	if err != nil {
		return tsdiag.ExitError, err
	}
	rep, err := d.Scan(context.Background(), tsdiag.Path(args[0]))
	if err != nil {
		return tsdiag.ExitError, err
	}
	if err := tsdiag.Write(os.Stdout, rep, "sarif", tsdiag.WriteOptions{}); err != nil {
		return tsdiag.ExitError, err
	}
	if v := d.Verdict(rep); v.Code != tsdiag.ExitOK {
		return v.Code, errors.New(v.Reason)
	}
	return tsdiag.ExitOK, nil
}
