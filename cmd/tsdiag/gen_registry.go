package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tsdiag/tsdiag/internal/scenario"
)

// writeRegistryFiles writes a scenario's registry exports beside its log,
// named <HOST>-licensing.reg so that `tsdiag scan` of the folder ties each
// to its host, as it does in a support bundle.
func writeRegistryFiles(s scenario.Scenario, evtxPath string, stderr io.Writer) error {
	for _, f := range s.RegistryFiles() {
		p := filepath.Join(filepath.Dir(evtxPath), f.Name)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return withCode(exitError, err)
		}
		fmt.Fprintf(stderr, "wrote %s: the registry export of %s (scan the folder, or name both files)\n", p, f.Host)
	}
	return nil
}
