package scenario

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
)

// Registry is one host's registry export in a scenario: the keys `reg
// export` would write for it, so that a scenario can show a configuration
// the log alone does not (licensing mode not configured, a policy that
// overrides the local setting) the way a support bundle holds it.
type Registry struct {
	Host string   `toml:"host"`
	Keys []RegKey `toml:"key"`
}

// RegKey is one key with its values by type.
type RegKey struct {
	Path    string              `toml:"path"` // HKEY_LOCAL_MACHINE\...
	DWORD   map[string]uint32   `toml:"dword"`
	SZ      map[string]string   `toml:"sz"`
	MultiSZ map[string][]string `toml:"multi_sz"`
}

// RegFile is a .reg export ready to write.
type RegFile struct {
	Host string
	Name string // <SHORT-HOST>-licensing.reg: scan ties an export to the host its name starts with
	Data []byte
}

// RegistryFiles renders the scenario's exports as `reg export` writes them
// (UTF-16LE with a byte-order mark, "Windows Registry Editor Version 5.00",
// CRLF line ends), one file per host.
func (s Scenario) RegistryFiles() []RegFile {
	var out []RegFile
	for _, r := range s.Registry {
		short := strings.ToUpper(strings.SplitN(r.Host, ".", 2)[0])
		out = append(out, RegFile{Host: r.Host, Name: short + "-licensing.reg", Data: utf16File(r.text())})
	}
	return out
}

func (r Registry) text() string {
	var b strings.Builder
	b.WriteString("Windows Registry Editor Version 5.00\r\n")
	for _, k := range r.Keys {
		fmt.Fprintf(&b, "\r\n[%s]\r\n", k.Path)
		for _, n := range slices.Sorted(maps.Keys(k.DWORD)) {
			fmt.Fprintf(&b, "%s=dword:%08x\r\n", regQuote(n), k.DWORD[n])
		}
		for _, n := range slices.Sorted(maps.Keys(k.SZ)) {
			fmt.Fprintf(&b, "%s=%s\r\n", regQuote(n), regQuote(k.SZ[n]))
		}
		for _, n := range slices.Sorted(maps.Keys(k.MultiSZ)) {
			fmt.Fprintf(&b, "%s=hex(7):%s\r\n", regQuote(n), multiSZHex(k.MultiSZ[n]))
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func regQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// multiSZHex is REG_MULTI_SZ data as .reg writes it: UTF-16LE strings, each
// NUL-terminated, then one more NUL, as comma-separated hex bytes.
func multiSZHex(list []string) string {
	var units []uint16
	for _, s := range list {
		units = append(units, utf16.Encode([]rune(s))...)
		units = append(units, 0)
	}
	units = append(units, 0)
	parts := make([]string, 0, 2*len(units))
	for _, u := range units {
		parts = append(parts, fmt.Sprintf("%02x", byte(u)), fmt.Sprintf("%02x", byte(u>>8)))
	}
	return strings.Join(parts, ",")
}

func utf16File(s string) []byte {
	units := utf16.Encode([]rune(s))
	out := make([]byte, 2, 2+2*len(units))
	out[0], out[1] = 0xff, 0xfe
	for _, u := range units {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

func (r Registry) validate(hosts []string) error {
	if !contains(hosts, r.Host) {
		return fmt.Errorf("registry host %q is not one of noise.hosts", r.Host)
	}
	if len(r.Keys) == 0 {
		return fmt.Errorf("registry of %s has no key", r.Host)
	}
	for _, k := range r.Keys {
		if !strings.HasPrefix(k.Path, `HKEY_LOCAL_MACHINE\`) {
			return fmt.Errorf("registry key %q does not start with HKEY_LOCAL_MACHINE\\", k.Path)
		}
	}
	return nil
}
