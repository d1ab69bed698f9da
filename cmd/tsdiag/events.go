package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
)

func init() { register(newEventsCmd) }

func newEventsCmd() *cobra.Command {
	var format string
	var workers int
	var xmlRoot bool
	cmd := &cobra.Command{
		Use:   "events [--format jsonl|xml] PATH...",
		Short: "Decode event logs and print every event (JSON lines or XML)",
		Long: `Decode event logs and print every event, one per line. PATH is an .evtx or
.evt file, an XML export, a folder, a .zip/.tar/.tar.gz bundle, or - for stdin.

jsonl (default) prints one JSON object per record with the keys provider,
provider_guid, event_id, qualifiers, level, time (RFC 3339 UTC), record_id,
channel, computer, user_sid, data and params. xml prints each event in
Windows' XML shape, one per line, inside an <Events> root element (as
wevtutil qe /e:Events writes), so the output is one well-formed document;
--xml-root=false prints the bare events. A summary line (files, records,
damaged records) and every damaged region found go to stderr.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format = lineFormat(format)
			if format != "jsonl" && format != "xml" {
				return withCode(exitError, fmt.Errorf("--format must be jsonl or xml, not %q", format))
			}
			return runEvents(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, eventsOptions{format: format, workers: workers, xmlRoot: xmlRoot})
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl (json is accepted for it) or xml")
	// 0 is the source package's GOMAXPROCS; a literal default here would
	// make pflag print "(default 2)" beside the sentence that names it.
	cmd.Flags().IntVar(&workers, "workers", 0, "chunks decoded in parallel per file, 1 for one at a time (default: GOMAXPROCS, the cores Go may use)")
	cmd.Flags().BoolVar(&xmlRoot, "xml-root", true, "with --format xml, wrap the events in <Events>...</Events>")
	return cmd
}

type eventsOptions struct {
	format  string
	workers int
	xmlRoot bool
	// tree renders every record through an Event (the path before the
	// direct renderer), for tests comparing the two.
	tree bool
}

func runEvents(stdout, stderr io.Writer, paths []string, o eventsOptions) error {
	w := bufio.NewWriterSize(stdout, 256<<10)
	var line []byte
	// EVTX records are written straight from their values (evtx.Render);
	// events of other inputs (XML exports, .evt) are rendered here, to the
	// same bytes.
	emit := func(ev *evtx.Event) error {
		if o.format == "xml" {
			line = append(ev.AppendXML(line[:0]), '\n')
		} else {
			line = evtx.AppendJSON(line[:0], ev)
		}
		_, err := w.Write(line)
		return outputErr(err)
	}
	opts := source.Options{Workers: o.workers, KeepTree: o.format == "xml",
		Output: func(b []byte) error { _, err := w.Write(b); return outputErr(err) }}
	if !o.tree {
		opts.Render = evtx.RenderJSONL
		if o.format == "xml" {
			opts.Render = evtx.RenderXML
		}
	}
	root := o.format == "xml" && o.xmlRoot
	if root {
		w.WriteString("<Events>\n")
	}
	// source.Walk reads every input kind scan reads (folders, bundles, XML
	// exports, .evt, stdin); inputs it cannot read land in Unreadable and
	// the rest go on.
	total, err := source.Walk(paths, opts, emit)
	if err != nil {
		w.Flush()
		return withCode(exitError, err)
	}
	if root {
		w.WriteString("</Events>\n")
	}
	var failed []string
	for _, u := range total.Unreadable {
		failed = append(failed, u.File+": "+u.Reason)
	}
	if err := w.Flush(); err != nil {
		return withCode(exitError, err)
	}
	for _, d := range total.Damages {
		fmt.Fprintf(stderr, "damage: %s: offset %d: %s: %s\n", d.File, d.Offset, d.Kind, d.Reason)
	}
	fmt.Fprintf(stderr, "%d files, %d records, %d damaged records, %d damaged chunks\n",
		total.Files, total.Records, total.DamagedRecords, total.DamagedChunks)
	if len(failed) > 0 {
		return withCode(exitError, errors.New(strings.Join(failed, "; ")))
	}
	return nil
}

// writeError marks a failure to write output, which stops the run; any
// other error names an input that could not be read, and the rest go on.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func outputErr(err error) error {
	if err == nil {
		return nil
	}
	return &writeError{err}
}
