package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// reportExts lists the file extensions -o understands, in the order the
// error message names them; one table so the message cannot forget one.
var reportExts = []struct{ ext, format string }{
	{".txt", "text"}, {".text", "text"},
	{".json", "json"},
	{".sarif", "sarif"},
	{".xml", "junit"}, {".junit", "junit"},
	{".html", "html"}, {".htm", "html"},
	{".md", "markdown"}, {".markdown", "markdown"},
}

// lineFormat maps scan's name for JSON to jsonl, the name of the commands
// that stream one object per line (events, watch, live), so that json is
// accepted wherever jsonl is meant.
func lineFormat(format string) string {
	if format == "json" {
		return "jsonl"
	}
	return format
}

// formatOfExt is the report format a file extension names ("" for one
// tsdiag does not know).
func formatOfExt(name string) string {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range reportExts {
		if e.ext == ext {
			return e.format
		}
	}
	return ""
}

func knownExts() string {
	names := make([]string, len(reportExts))
	for i, e := range reportExts {
		names[i] = e.ext
	}
	return strings.Join(names, ", ")
}

// outputFormat decides the report format from --format and -o:
//   - without --format, -o's extension names it; an extension tsdiag does not
//     know (or none) is an error, never a silent text report;
//   - with --format, an extension naming another format is an error
//     (`--format json -o x.html`); SARIF may be written to .json (it is JSON),
//     and any format to a file whose extension names none.
//
// Without -o (stdout) the format is --format, else text.
func outputFormat(format, output string, _ io.Writer) (string, error) {
	if format == "md" {
		format = "markdown"
	}
	if output == "" || output == "-" {
		if format == "" {
			return "text", nil
		}
		return format, nil
	}
	named := formatOfExt(output)
	switch {
	case format == "" && named == "":
		return "", fmt.Errorf("-o %s: the extension names no report format; give --format (text, json, sarif, junit, html, markdown) or use one of %s", output, knownExts())
	case format == "":
		return named, nil
	case named == "" || named == format || (format == "sarif" && named == "json"):
		return format, nil
	}
	return "", fmt.Errorf("--format %s but -o %s names %s: make them agree (or drop --format and let the extension decide)", format, output, named)
}
