// Package regcfg reads the Remote Desktop licensing configuration that event
// logs cannot show: the licensing mode, the license servers the session host
// was told to use, the Windows 2000/2003 pinned server and the grace-period
// timer. It reads the live registry on Windows and `.reg` exports (as found
// in support bundles) everywhere, and interprets both the same way.
package regcfg

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Registry locations (kb-reference §4). Both RCM spellings are probed
// because one Microsoft source prints the key without `\Control`.
const (
	KeyRCM               = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM`
	KeyRCMAlt            = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Terminal Server\RCM`
	KeyLicensingCore     = KeyRCM + `\Licensing Core`
	KeyGracePeriod       = KeyRCM + `\GracePeriod`
	KeyTermServiceParams = `HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermService\Parameters`
	KeyLicenseServers    = KeyTermServiceParams + `\LicenseServers`
	KeyPolicy            = `HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`
)

// Keys lists every key Read looks at, for exporters and the live reader.
var Keys = []string{KeyLicensingCore, KeyRCM, KeyRCMAlt, KeyGracePeriod, KeyTermServiceParams, KeyLicenseServers, KeyPolicy}

// Store is a registry to read from: the live registry or parsed exports.
type Store interface {
	Value(key, name string) (Value, bool)
	KeyExists(key string) bool
	SubKeys(key string) []string
}

// Licensing modes by their LicensingMode value.
const (
	ModePerDevice     = "per-device"
	ModePerUser       = "per-user"
	ModeNotConfigured = "not-configured"
	ModePersonal      = "personal"
	ModeRemoteAdmin   = "remote-admin"
)

// Config is the interpreted licensing configuration. Its JSON names are a
// public contract (scan and live print them as "configuration seen").
type Config struct {
	Sources []string `json:"sources"` // "registry" or the .reg files read

	// Mode is the effective licensing mode: the policy value when set, else
	// the local one; "" when neither is present.
	Mode          string `json:"mode,omitempty"`
	LicensingMode *int   `json:"licensing_mode,omitempty"` // the raw effective value
	ModeFrom      string `json:"mode_from,omitempty"`      // key\value it came from

	// LicenseServers is the effective list of specified license servers.
	LicenseServers     []string `json:"license_servers,omitempty"`
	LicenseServersFrom string   `json:"license_servers_from,omitempty"`

	// The policy and local values apart (the effective ones above merge
	// them, the policy winning): a policy that silently overrides what an
	// admin set locally is a diagnosis of its own.
	PolicyMode           string   `json:"policy_mode,omitempty"`
	LocalMode            string   `json:"local_mode,omitempty"`
	PolicyLicenseServers []string `json:"policy_license_servers,omitempty"`
	LocalLicenseServers  []string `json:"local_license_servers,omitempty"`

	// DefaultLicenseServer is the Windows 2000/2003 pin (one server, no
	// fallback discovery).
	DefaultLicenseServer string `json:"default_license_server,omitempty"`

	// GracePeriodKey reports the RCM GracePeriod timer's presence: present
	// on a session host that has started its grace period.
	GracePeriodKey bool `json:"grace_period_key"`
	// GracePeriodWritten is the timer key's last write time (live registry
	// only): when the grace period was started or last reset.
	GracePeriodWritten *time.Time `json:"grace_period_written,omitempty"`
	// GraceDaysLeft is what Windows reports (WMI GetGracePeriodDays) on a
	// live server; nil when not asked or not available.
	GraceDaysLeft *int   `json:"grace_days_left,omitempty"`
	GraceDaysFrom string `json:"grace_days_from,omitempty"`

	// PartOfDomain is Win32_ComputerSystem.PartOfDomain on a live server
	// (a workgroup host may not use per-user CALs); nil when not asked,
	// which is always the case for .reg exports: they do not show it.
	PartOfDomain *bool `json:"part_of_domain,omitempty"`

	// State is the live licensing state a collected bundle holds
	// (licensing-state.json, see ApplyState); nil for exports alone.
	State *State `json:"state,omitempty"`

	// Notes explain what the values mean together: a policy overriding a
	// local value, a value of an unexpected type, an unknown mode number.
	Notes []string `json:"notes,omitempty"`
	// Values are the raw values found, for the report.
	Values []Seen `json:"values"`
}

// Seen is one raw registry value that was read.
type Seen struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// Empty reports whether no licensing value was found at all.
func (c *Config) Empty() bool {
	return len(c.Values) == 0 && !c.GracePeriodKey && c.GraceDaysLeft == nil && c.State == nil
}

// ModeName names a LicensingMode value (WMI LicensingType / ChangeMode).
func ModeName(n uint64) string {
	switch n {
	case 0:
		return ModePersonal
	case 1:
		return ModeRemoteAdmin
	case 2:
		return ModePerDevice
	case 4:
		return ModePerUser
	case 5:
		return ModeNotConfigured
	}
	return "unknown"
}

// Read interprets the licensing values in s.
func Read(s Store, sources ...string) Config {
	c := Config{Sources: sources}
	r := reader{s: s, c: &c}
	r.mode()
	r.servers()
	if v, ok := r.get(KeyTermServiceParams, "DefaultLicenseServer"); ok {
		c.DefaultLicenseServer = r.str(KeyTermServiceParams, "DefaultLicenseServer", v)
	}
	c.GracePeriodKey = s.KeyExists(KeyGracePeriod)
	if _, ok := r.get(KeyRCM, "GracePeriod"); ok {
		c.GracePeriodKey = true
	}
	if c.Values == nil {
		c.Values = []Seen{}
	}
	return c
}

type reader struct {
	s Store
	c *Config
}

// get reads a value and records it as seen.
func (r *reader) get(key, name string) (Value, bool) {
	v, ok := r.s.Value(key, name)
	if ok {
		r.c.Values = append(r.c.Values, Seen{Key: key, Name: name, Type: TypeName(v.Type), Data: Render(v)})
	}
	return v, ok
}

func (r *reader) note(format string, args ...any) {
	r.c.Notes = append(r.c.Notes, fmt.Sprintf(format, args...))
}

func (r *reader) dword(key, name string, v Value) (uint64, bool) {
	if n, ok := v.Uint(); ok {
		return n, true
	}
	if v.Type == TypeDWORD || v.Type == TypeDWORDBE || v.Type == TypeQWORD {
		r.note(`%s\%s is %s with %d bytes of data: Windows ignores it`, key, name, TypeName(v.Type), len(v.Data))
		return 0, false
	}
	// Scripts sometimes write the mode as a string; Windows ignores it.
	r.note(`%s\%s is %s, not REG_DWORD: Windows ignores it`, key, name, TypeName(v.Type))
	return 0, false
}

func (r *reader) str(key, name string, v Value) string {
	if v.Type != TypeSZ && v.Type != TypeExpandSZ {
		r.note(`%s\%s is %s, not REG_SZ`, key, name, TypeName(v.Type))
		return strings.Join(v.Strings(), ",")
	}
	return strings.TrimSpace(v.String())
}

func (r *reader) mode() {
	var local, policy *uint64
	for _, key := range []string{KeyLicensingCore, KeyRCMAlt + `\Licensing Core`} {
		if v, ok := r.get(key, "LicensingMode"); ok {
			if n, ok := r.dword(key, "LicensingMode", v); ok && local == nil {
				local = &n
				r.c.ModeFrom = key + `\LicensingMode`
			}
		}
	}
	if v, ok := r.get(KeyPolicy, "LicensingMode"); ok {
		if n, ok := r.dword(KeyPolicy, "LicensingMode", v); ok {
			policy = &n
			r.c.ModeFrom = KeyPolicy + `\LicensingMode`
		}
	}
	if local != nil {
		r.c.LocalMode = ModeName(*local)
	}
	if policy != nil {
		r.c.PolicyMode = ModeName(*policy)
	}
	eff := local
	if policy != nil {
		eff = policy
		if local != nil && *local != *policy {
			r.note("group policy sets licensing mode %s (%d), overriding the local setting %s (%d)",
				ModeName(*policy), *policy, ModeName(*local), *local)
		}
	}
	if eff == nil {
		return
	}
	n := int(*eff)
	r.c.LicensingMode = &n
	r.c.Mode = ModeName(*eff)
	if r.c.Mode == "unknown" {
		r.note("LicensingMode %d is not a known mode (2 per device, 4 per user, 5 not configured)", *eff)
	}
}

func (r *reader) servers() {
	type cand struct {
		from  string
		names []string
	}
	var local []cand
	if v, ok := r.get(KeyLicenseServers, "SpecifiedLicenseServers"); ok {
		local = append(local, cand{KeyLicenseServers + `\SpecifiedLicenseServers`, v.Strings()})
	}
	// The value directly under Parameters comes from a machine-translated
	// copy of Microsoft's guidance (kb-reference Errata): Windows reads it
	// under Parameters\LicenseServers only, so a list written here names no
	// server at all, whatever it says.
	if v, ok := r.get(KeyTermServiceParams, "SpecifiedLicenseServers"); ok && len(v.Strings()) > 0 {
		r.note(`%s\SpecifiedLicenseServers (%s) is not where Windows reads the list: the value belongs under %s`,
			KeyTermServiceParams, strings.Join(v.Strings(), ", "), KeyLicenseServers)
	}
	// Older guidance names each server as a sub-key of LicenseServers.
	if subs := r.s.SubKeys(KeyLicenseServers); len(subs) > 0 {
		local = append(local, cand{KeyLicenseServers + `\<subkeys>`, subs})
	}
	var policy *cand
	if v, ok := r.get(KeyPolicy, "LicenseServers"); ok {
		policy = &cand{KeyPolicy + `\LicenseServers`, splitList(v.Strings())}
	}
	var eff *cand
	for i := range local {
		if len(local[i].names) > 0 {
			eff = &local[i]
			break
		}
	}
	if eff != nil {
		r.c.LocalLicenseServers = eff.names
	}
	if policy != nil {
		r.c.PolicyLicenseServers = policy.names
	}
	if policy != nil && len(policy.names) > 0 {
		if eff != nil && !sameSet(eff.names, policy.names) {
			r.note("group policy specifies license servers %s, overriding %s from %s",
				strings.Join(policy.names, ", "), strings.Join(eff.names, ", "), eff.from)
		}
		eff = policy
	}
	if eff != nil {
		r.c.LicenseServers = eff.names
		r.c.LicenseServersFrom = eff.from
	}
}

// splitList splits the policy's comma-separated server list.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string{}, a...)
	y := append([]string{}, b...)
	for i := range x {
		x[i], y[i] = strings.ToLower(x[i]), strings.ToLower(y[i])
	}
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// TypeName is the REG_* name of a value type.
func TypeName(t int) string {
	switch t {
	case TypeNone:
		return "REG_NONE"
	case TypeSZ:
		return "REG_SZ"
	case TypeExpandSZ:
		return "REG_EXPAND_SZ"
	case TypeBinary:
		return "REG_BINARY"
	case TypeDWORD:
		return "REG_DWORD"
	case TypeDWORDBE:
		return "REG_DWORD_BIG_ENDIAN"
	case TypeMultiSZ:
		return "REG_MULTI_SZ"
	case TypeQWORD:
		return "REG_QWORD"
	}
	return "REG_TYPE_" + strconv.Itoa(t)
}

// Render shows a value the way `reg query` does.
func Render(v Value) string {
	switch v.Type {
	case TypeSZ, TypeExpandSZ:
		return v.String()
	case TypeMultiSZ:
		return strings.Join(v.Strings(), `\0`)
	case TypeDWORD, TypeDWORDBE, TypeQWORD:
		if n, ok := v.Uint(); ok {
			return fmt.Sprintf("0x%x", n)
		}
	}
	const max = 64
	b := v.Data
	tail := ""
	if len(b) > max {
		b, tail = b[:max], "…"
	}
	return fmt.Sprintf("%X%s", b, tail)
}

// DWORD builds a REG_DWORD value (for stores built in code).
func DWORD(n uint32) Value {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, n)
	return Value{Type: TypeDWORD, Data: b}
}

// SZ builds a REG_SZ value.
func SZ(s string) Value { return Value{Type: TypeSZ, Data: encodeUTF16(s + "\x00")} }

// MultiSZ builds a REG_MULTI_SZ value.
func MultiSZ(ss ...string) Value {
	return Value{Type: TypeMultiSZ, Data: encodeUTF16(strings.Join(ss, "\x00") + "\x00\x00")}
}

// Flat is the configuration as plain key/value text, the shape a rule
// environment or a report table can take: mode, licensing_mode,
// license_servers (comma-separated), default_license_server,
// grace_period_key ("true"/"false"), grace_days_left, and the policy and
// local values apart: policy_mode, local_mode, policy_license_servers,
// local_license_servers, and part_of_domain (live server only), plus a
// collected bundle's live state (see stateFlat); keys with no value are
// left out.
func (c *Config) Flat() map[string]string {
	m := map[string]string{"grace_period_key": strconv.FormatBool(c.GracePeriodKey)}
	if c.Mode != "" {
		m["mode"] = c.Mode
		m["licensing_mode"] = strconv.Itoa(*c.LicensingMode)
	}
	if len(c.LicenseServers) > 0 {
		m["license_servers"] = strings.Join(c.LicenseServers, ",")
	}
	if c.DefaultLicenseServer != "" {
		m["default_license_server"] = c.DefaultLicenseServer
	}
	for k, v := range map[string]string{"policy_mode": c.PolicyMode, "local_mode": c.LocalMode,
		"policy_license_servers": strings.Join(c.PolicyLicenseServers, ","),
		"local_license_servers":  strings.Join(c.LocalLicenseServers, ",")} {
		if v != "" {
			m[k] = v
		}
	}
	if c.GraceDaysLeft != nil {
		m["grace_days_left"] = strconv.Itoa(*c.GraceDaysLeft)
	}
	if c.PartOfDomain != nil {
		m["part_of_domain"] = strconv.FormatBool(*c.PartOfDomain)
	}
	c.stateFlat(m)
	return m
}
