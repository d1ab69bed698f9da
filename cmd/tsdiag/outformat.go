package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// formatOfExt is the report format a file extension names ("" for one
// tsdiag does not know).
func formatOfExt(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return "json"
	case ".sarif":
		return "sarif"
	case ".xml", ".junit":
		return "junit"
	case ".html", ".htm":
		return "html"
	case ".md", ".markdown":
		return "markdown"
	case ".txt", ".text":
		return "text"
	}
	return ""
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
		return "", fmt.Errorf("-o %s: the extension names no report format; give --format (text, json, sarif, junit, html, markdown) or use .txt, .json, .sarif, .xml, .html, .md", output)
	case format == "":
		return named, nil
	case named == "" || named == format || (format == "sarif" && named == "json"):
		return format, nil
	}
	return "", fmt.Errorf("--format %s but -o %s names %s: make them agree (or drop --format and let the extension decide)", format, output, named)
}
