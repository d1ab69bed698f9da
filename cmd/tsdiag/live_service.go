package main

import (
	"path"
	"strings"
	"time"
)

// serviceRestartDelays are the service's recovery actions (restart after
// each delay, one per failure) and serviceResetPeriod the time without
// failure after which the count starts again.
var serviceRestartDelays = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute}

const serviceResetPeriod = 24 * time.Hour

// servicePaths is where the service binary lives: %ProgramFiles%\tsdiag\tsdiag.exe,
// and whether exe must be copied there (it is not already that file). ""
// when programFiles is unknown.
func servicePaths(exe, programFiles string) (target string, copyIt bool) {
	if strings.TrimSpace(programFiles) == "" {
		return "", false
	}
	target = winJoin(programFiles, "tsdiag", "tsdiag.exe")
	return target, !strings.EqualFold(winClean(exe), winClean(target))
}

// winJoin and winClean treat paths with Windows separators on any
// platform, so servicePaths is tested everywhere.
func winJoin(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.TrimRight(strings.ReplaceAll(p, "/", `\`), `\`)
	}
	return strings.Join(parts, `\`)
}

func winClean(p string) string { return path.Clean(strings.ReplaceAll(p, `\`, "/")) }
