package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
)

func init() { register(newEventsCmd) }

func newEventsCmd() *cobra.Command {
	var format string
	var workers int
	cmd := &cobra.Command{
		Use:   "events [--format jsonl|xml] PATH...",
		Short: "Decode event logs and print every event (JSON lines or XML)",
		Long: `Decode event logs and print every event, one per line. PATH is an .evtx or
.evt file, an XML export, a folder, a .zip/.tar/.tar.gz bundle, or - for stdin.

jsonl (default) prints one JSON object per record with the keys provider,
provider_guid, event_id, qualifiers, level, time (RFC 3339 UTC), record_id,
channel, computer, user_sid, data and params. xml prints each event in
Windows' XML shape. A summary line (files, records, damaged records) and
every damaged region found go to stderr.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format == "json" {
				format = "jsonl" // scan's name for JSON; events writes one object per line
			}
			if format != "jsonl" && format != "xml" {
				return withCode(exitError, fmt.Errorf("--format must be jsonl or xml, not %q", format))
			}
			return runEvents(cmd.OutOrStdout(), cmd.ErrOrStderr(), args, format, workers)
		},
	}
	cmd.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl (json is accepted for it) or xml")
	cmd.Flags().IntVar(&workers, "workers", runtime.GOMAXPROCS(0), "chunks decoded in parallel per file (default: the cores Go may use, GOMAXPROCS)")
	return cmd
}

// eventJSON is the documented JSON line shape of `tsdiag events`.
type eventJSON struct {
	Provider     string            `json:"provider"`
	ProviderGUID string            `json:"provider_guid"`
	EventID      uint16            `json:"event_id"`
	Qualifiers   uint16            `json:"qualifiers"`
	Level        uint8             `json:"level"`
	Time         string            `json:"time"`
	RecordID     uint64            `json:"record_id"`
	Channel      string            `json:"channel"`
	Computer     string            `json:"computer"`
	UserSID      string            `json:"user_sid"`
	Data         map[string]string `json:"data"`
	Params       []string          `json:"params"`
}

func toEventJSON(ev *evtx.Event) eventJSON {
	j := eventJSON{
		Provider: ev.Provider, ProviderGUID: ev.ProviderGUID, EventID: ev.EventID, Qualifiers: ev.Qualifiers,
		Level: ev.Level, Time: ev.TimeCreated.UTC().Format("2006-01-02T15:04:05.0000000Z07:00"),
		RecordID: ev.RecordID, Channel: ev.Channel, Computer: ev.Computer, UserSID: ev.UserSID,
		Data: ev.Data, Params: ev.Params,
	}
	if j.Data == nil {
		j.Data = map[string]string{}
	}
	if j.Params == nil {
		j.Params = []string{}
	}
	return j
}

func runEvents(stdout, stderr io.Writer, paths []string, format string, workers int) error {
	w := bufio.NewWriterSize(stdout, 256<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	emit := func(ev *evtx.Event) error { return outputErr(enc.Encode(toEventJSON(ev))) }
	opts := evtx.Options{Workers: workers}
	if format == "xml" {
		opts.KeepTree = true
		emit = func(ev *evtx.Event) error {
			w.WriteString(ev.XML())
			return outputErr(w.WriteByte('\n'))
		}
	}
	// source.Walk reads every input kind scan reads (folders, bundles, XML
	// exports, .evt, stdin); inputs it cannot read land in Unreadable and
	// the rest go on.
	total, err := source.Walk(paths, source.Options{Workers: workers, KeepTree: opts.KeepTree}, emit)
	if err != nil {
		w.Flush()
		return withCode(exitError, err)
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
