package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at release time: go build -ldflags "-X main.version=v1.2.3".
// Without it the module version from the build info is used (a `go install
// …@vX.Y.Z` build), else "dev".
var version = ""

func init() { register(newVersionCmd) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the tsdiag version, Go version and commit",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return writeVersion(c.OutOrStdout())
		},
	}
}

// toolVersion is the version reports carry.
func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func writeVersion(w io.Writer) error {
	commit, when, dirty := "unknown (built without VCS information)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if when != "" {
		commit += " (" + when + ")"
	}
	if dirty {
		commit += " with local changes"
	}
	_, err := fmt.Fprintf(w, "tsdiag %s\ngo: %s %s/%s\ncommit: %s\n", toolVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH, commit)
	return err
}
