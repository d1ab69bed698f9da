// velobench decodes an EVTX file with Velocidex's parser and writes every
// record as one JSON line, the work `tsdiag events --format jsonl` does;
// with -parse-only it decodes into its ordered maps and writes nothing, the
// parser's own cost without encoding/json.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"www.velocidex.com/golang/evtx"
)

func main() {
	parseOnly := len(os.Args) > 2 && os.Args[1] == "-parse-only"
	f, err := os.Open(os.Args[len(os.Args)-1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	chunks, err := evtx.GetChunks(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	n := 0
	for _, c := range chunks {
		recs, err := c.Parse(0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "chunk:", err)
			continue
		}
		for _, r := range recs {
			n++
			if parseOnly {
				continue
			}
			b, _ := json.Marshal(r.Event)
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	out.Flush()
	fmt.Fprintf(os.Stderr, "%d records\n", n)
}
