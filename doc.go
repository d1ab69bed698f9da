// Package tsdiag is the embedding API of tsdiag, the Remote Desktop
// licensing diagnoser: the pipeline `tsdiag scan`, `demo`, `watch` and
// `live` run (inputs → EVTX decoder → rules → findings + knowledge base →
// report), for a Go program such as a CI gate or a support portal.
//
// Start with New and Diagnoser.Scan, then Write:
//
//	d, err := tsdiag.New(tsdiag.Config{FailOn: "medium"})
//	rep, err := d.Scan(ctx, tsdiag.Path("bundle.zip"), tsdiag.Path("RDSH01/"))
//	err = tsdiag.Write(os.Stdout, rep, "sarif", tsdiag.WriteOptions{})
//	os.Exit(d.Verdict(rep).Code) // 0, 1 or 2, as the CLI exits
//
// Scan reads what the CLI reads (.evtx, .evt, XML exports, folders, .zip and
// .tar(.gz) bundles, registry exports) and gives the CLI's answer: registry
// exports are read in a first pass and tied to their host by folder or
// file name before any event is evaluated. For a log that grows, or a
// subscription, Diagnoser.Stream feeds events one at a time and takes
// snapshots; WriteChange writes the JSON line watch and live print.
//
// The types a report is made of (Report, Item, Finding, LicensingConfig)
// are aliases of the internal packages' types, so an embedder never
// imports internal/. The packages below the root are the pipeline's
// stages: evtx (decoding), engine (rules over an event stream), rules (the
// rule language and the built-in pack), kb (the knowledge base).
package tsdiag
