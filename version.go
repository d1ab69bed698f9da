package tsdiag

import "runtime/debug"

// Module is the module path of tsdiag.
const Module = "github.com/tsdiag/tsdiag"

// Version is the tsdiag version reports carry when Config.Tool is empty:
// the module version from the build info (the binary's own, or the
// dependency's in an embedding program), else "dev".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Path == Module {
		return orDev(bi.Main.Version)
	}
	for _, dep := range bi.Deps {
		if dep.Path == Module {
			return orDev(dep.Version)
		}
	}
	return "dev"
}

func orDev(v string) string {
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}
