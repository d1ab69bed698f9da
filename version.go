package tsdiag

import "runtime/debug"

// module is the module path of tsdiag, found in the build info.
const module = "github.com/tsdiag/tsdiag"

// Version is the tsdiag version reports carry when Config.Tool is empty:
// the module version from the build info (the binary's own, or the
// dependency's in an embedding program), else "dev".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if bi.Main.Path == module {
		return orDev(bi.Main.Version)
	}
	for _, dep := range bi.Deps {
		if dep.Path == module {
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
