package main

import (
	"io/fs"
	"os"

	"github.com/tsdiag/tsdiag"
	"github.com/tsdiag/tsdiag/evtx/scenario"
	"github.com/tsdiag/tsdiag/evtx/writer"
)

func main() {
	sub, _ := fs.Sub(tsdiag.Scenarios, "testdata/scenarios")
	all, err := scenario.Load(sub)
	if err != nil {
		panic(err)
	}
	sc, _ := scenario.Find(all, os.Args[1])
	f, _ := os.Create(os.Args[2])
	w := writer.New(f)
	for _, r := range sc.Generate(1, scenario.DefaultStart, 0) {
		if err := w.Write(r); err != nil {
			panic(err)
		}
	}
	w.Close()
	f.Close()
}
