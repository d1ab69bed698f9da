// Command goevtx-decode fully decodes EVTX files with golang-evtx, for the
// benchmark script (.ci/bench); it prints the counts on stderr.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"github.com/tsdiag/tsdiag/evtx/internal/goevtx"
)

func main() {
	// golang-evtx prints "ERROR - EOF" through the standard logger for every
	// record it cannot finish; the counts below already say so.
	log.SetOutput(io.Discard)
	code := 0
	for _, path := range os.Args[1:] {
		c, err := goevtx.DecodeFile(path, nil)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			code = 2
			continue
		}
		fmt.Fprintf(os.Stderr, "%d records (%d failed records, %d failed chunks) %s\n",
			c.Records, c.FailedRecord, c.FailedChunks, path)
	}
	os.Exit(code)
}
