package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tsdiag/tsdiag/internal/scenario"
)

// writeRegistryFiles writes a scenario's registry exports and live state
// files beside its log, named <HOST>-licensing.reg and
// <HOST>-licensing-state.json so that `tsdiag scan` of the folder ties each
// to its host, as it does in a support bundle.
func writeRegistryFiles(s scenario.Scenario, evtxPath string, start time.Time, stderr io.Writer) error {
	for _, f := range s.RegistryFiles() {
		p := filepath.Join(filepath.Dir(evtxPath), f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return withCode(exitError, err)
		}
		fmt.Fprintf(stderr, "wrote %s: the registry export of %s (scan the folder, or name both files)\n", p, f.Host)
	}
	states, err := s.StateFiles(start)
	if err != nil {
		return withCode(exitError, err)
	}
	for _, f := range states {
		p := filepath.Join(filepath.Dir(evtxPath), f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return withCode(exitError, err)
		}
		fmt.Fprintf(stderr, "wrote %s: the live licensing state of %s, as tsdiag collect writes it (scan the folder, or name both files)\n", p, f.Host)
	}
	return nil
}
