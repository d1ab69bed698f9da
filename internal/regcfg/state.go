package regcfg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// StateSchema names the live licensing state file tsdiag collect writes
// (StateFile in each host's folder of a bundle). The name is the first
// key of the file so that IsState recognises it from its first bytes, the
// way a scan recognises every input (never by file name).
const (
	StateSchema = "tsdiag-licensing-state/1"
	StateFile   = "licensing-state.json"
)

// Bounds on a state file: a real one is a few KiB (one host, a handful of
// license servers, at most some dozens of key packs).
const (
	MaxStateSize     = 1 << 20
	maxStateServers  = 64
	maxStateKeyPacks = 1024
	maxStateNames    = 256
	maxStateString   = 512
)

// State is what Windows reported live when the bundle was collected: the
// WMI view of the session host (Win32_TerminalServiceSetting, namespace
// root\cimv2\TerminalServices) and of the license server
// (Win32_TSLicenseServer, Win32_TSLicenseKeyPack, namespace root\cimv2),
// plus the names (never the data) of the RCM values. Its JSON names are a
// public contract: docs/collect.md describes each one and its source.
type State struct {
	Schema      string    `json:"schema"`
	Host        string    `json:"host"`
	CollectedAt time.Time `json:"collected_at"`
	OS          *OSInfo   `json:"os,omitempty"`
	// PartOfDomain is Win32_ComputerSystem.PartOfDomain (nil: not read).
	PartOfDomain *bool `json:"part_of_domain,omitempty"`

	SessionHost   *SessionHostState   `json:"session_host,omitempty"`
	LicenseServer *LicenseServerState `json:"license_server,omitempty"`

	// RCMValueNames are the value names under the RCM key (the certificate
	// values among them): names only, their data is never collected.
	RCMValueNames []string `json:"rcm_value_names,omitempty"`
	RCMSubkeys    []string `json:"rcm_subkeys,omitempty"`

	// Notes say what could not be read and why.
	Notes []string `json:"notes,omitempty"`
}

// OSInfo is Win32_OperatingSystem's Caption, Version and BuildNumber.
type OSInfo struct {
	Caption string `json:"caption,omitempty"`
	Version string `json:"version,omitempty"`
	Build   string `json:"build,omitempty"`
}

// SessionHostState is Win32_TerminalServiceSetting's licensing view.
type SessionHostState struct {
	// LicensingType uses the WMI numbering (0 personal, 1 remote admin,
	// 2 per device, 3 per user, 4 not configured per the class page),
	// which differs from the registry's LicensingMode: LicensingName is
	// the one to read (kb-reference Errata).
	LicensingType *int   `json:"licensing_type,omitempty"`
	LicensingName string `json:"licensing_name,omitempty"`
	// PolicySourceLicensingType and PolicySourceConfiguredLicenseServers:
	// 0 server, 1 group policy.
	PolicySourceLicensingType            *int     `json:"policy_source_licensing_type,omitempty"`
	PolicySourceConfiguredLicenseServers *int     `json:"policy_source_configured_license_servers,omitempty"`
	SpecifiedLicenseServers              []string `json:"specified_license_servers"`
	// GraceDaysLeft is GetGracePeriodDays' DaysLeft (0: the grace period
	// is over); nil when the call failed.
	GraceDaysLeft *int           `json:"grace_days_left,omitempty"`
	Servers       []ServerStatus `json:"servers,omitempty"`
}

// ServerStatus is GetTStoLSConnectivityStatus for one specified server.
type ServerStatus struct {
	Name   string `json:"name"`
	Status int    `json:"status"` // TStoLSConnectivityStatus
}

// LicenseServerState is the license server's own view (present only on a
// license server, and only for an administrator).
type LicenseServerState struct {
	// ActivationStatus is GetActivationStatus' value: 0 activated, 1 not
	// activated, 2 unknown.
	ActivationStatus *int      `json:"activation_status,omitempty"`
	KeyPacks         []KeyPack `json:"key_packs,omitempty"`
}

// KeyPack is one Win32_TSLicenseKeyPack instance.
type KeyPack struct {
	KeyPackID      int    `json:"key_pack_id"`
	KeyPackType    int    `json:"key_pack_type"` // 4 = temporary
	ProductType    int    `json:"product_type"`  // 0 per device, 1 per user
	ProductVersion string `json:"product_version,omitempty"`
	TypeAndModel   string `json:"type_and_model,omitempty"`
	Total          int64  `json:"total_licenses"`
	Issued         int64  `json:"issued_licenses"`
	Available      int64  `json:"available_licenses"`
}

// Connectivity names, GetTStoLSConnectivityStatus (Microsoft Learn,
// "GetTStoLSConnectivityStatus method of the Win32_TerminalServiceSetting
// class").
var connectivityNames = []string{
	"LS_CONNECTABLE_UNKNOWN", "LS_CONNECTABLE_VALID_WS08R2", "LS_CONNECTABLE_VALID_WS08",
	"LS_CONNECTABLE_BETA_RTM_MISMATCH", "LS_CONNECTABLE_LOWER_VERSION", "LS_CONNECTABLE_NOT_IN_TSCGROUP",
	"LS_NOT_CONNECTABLE", "LS_CONNECTABLE_UNKNOWN_VALIDITY", "LS_CONNECTABLE_BUT_ACCESS_DENIED",
	"LS_CONNECTABLE_VALID_WS08R2_VDI", "LS_CONNECTABLE_FEATURE_NOT_SUPPORTED", "LS_CONNECTABLE_VALID_LS",
}

// ConnectivityName names a TStoLSConnectivityStatus value.
func ConnectivityName(n int) string {
	if n >= 0 && n < len(connectivityNames) {
		return connectivityNames[n]
	}
	return "unknown (" + strconv.Itoa(n) + ")"
}

// Reachable reports a status that means the session host can get licenses
// from the server: any LS_CONNECTABLE_VALID_* value (kb-reference Errata).
func (s ServerStatus) Reachable() bool {
	switch s.Status {
	case 1, 2, 9, 11:
		return true
	}
	return false
}

// Unreachable reports LS_NOT_CONNECTABLE (6): the server could not be
// contacted at all. Other statuses (access denied, version mismatch, not
// in the group) reach the server and are not an outage.
func (s ServerStatus) Unreachable() bool { return s.Status == 6 }

// CollectManifestSchema names the manifest tsdiag collect writes beside
// the state file; scan recognises it (IsManifest) and sets it aside.
const CollectManifestSchema = "tsdiag-collect-manifest/1"

// IsManifest reports whether head starts a collect manifest.
func IsManifest(head []byte) bool { return schemaIs(head, CollectManifestSchema) }

// IsState reports whether head starts a state file: a JSON object whose
// first key is "schema" with the StateSchema value.
func IsState(head []byte) bool { return schemaIs(head, StateSchema) }

func schemaIs(head []byte, schema string) bool {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	if !bytes.HasPrefix(h, []byte("{")) {
		return false
	}
	h = bytes.TrimLeft(h[1:], " \t\r\n")
	rest, ok := bytes.CutPrefix(h, []byte(`"schema"`))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	rest, ok = bytes.CutPrefix(rest, []byte(":"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return bytes.HasPrefix(rest, []byte(`"`+schema+`"`))
}

// ParseState reads a state file. Errors name the file; input past
// MaxStateSize is refused without being held.
func ParseState(r io.Reader, name string) (*State, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read error: %v", name, err)
	}
	if len(data) > MaxStateSize {
		return nil, fmt.Errorf("%s: larger than %d bytes (MaxStateSize): not a licensing state file", name, MaxStateSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: not UTF-8 JSON", name)
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%s: %s", name, jsonReason(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the JSON object", name)
	}
	if st.Schema != StateSchema {
		return nil, fmt.Errorf("%s: schema %q, want %q", name, clip(st.Schema), StateSchema)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &st, nil
}

// jsonReason words a decode error with the byte offset where it applies.
func jsonReason(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("offset %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("offset %d: %s is %s, want %s", te.Offset, te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("JSON ends early (%d bytes)", len(data))
	}
	return err.Error()
}

// check refuses values no Windows call returns, so a crafted file cannot
// make a rule believe an impossible state.
func (st *State) check() error {
	if err := str("host", st.Host); err != nil {
		return err
	}
	if len(st.RCMValueNames) > maxStateNames || len(st.RCMSubkeys) > maxStateNames || len(st.Notes) > maxStateNames {
		return fmt.Errorf("more than %d names or notes", maxStateNames)
	}
	for _, s := range append(append(append([]string{}, st.RCMValueNames...), st.RCMSubkeys...), st.Notes...) {
		if err := str("name", s); err != nil {
			return err
		}
	}
	if sh := st.SessionHost; sh != nil {
		if len(sh.SpecifiedLicenseServers) > maxStateServers || len(sh.Servers) > maxStateServers {
			return fmt.Errorf("more than %d license servers", maxStateServers)
		}
		if sh.GraceDaysLeft != nil && (*sh.GraceDaysLeft < 0 || *sh.GraceDaysLeft > 10000) {
			return fmt.Errorf("grace_days_left %d is not a day count", *sh.GraceDaysLeft)
		}
		for _, s := range sh.SpecifiedLicenseServers {
			if err := serverName(s); err != nil {
				return err
			}
		}
		for _, s := range sh.Servers {
			if err := serverName(s.Name); err != nil {
				return err
			}
			if s.Status < 0 || s.Status >= len(connectivityNames) {
				return fmt.Errorf("server %s: status %d is not a TStoLSConnectivityStatus value (0-11)", s.Name, s.Status)
			}
		}
		if err := str("licensing_name", sh.LicensingName); err != nil {
			return err
		}
	}
	if ls := st.LicenseServer; ls != nil {
		if len(ls.KeyPacks) > maxStateKeyPacks {
			return fmt.Errorf("more than %d key packs", maxStateKeyPacks)
		}
		if a := ls.ActivationStatus; a != nil && (*a < 0 || *a > 2) {
			return fmt.Errorf("activation_status %d is not 0, 1 or 2", *a)
		}
		for _, k := range ls.KeyPacks {
			if k.Total < 0 || k.Issued < 0 || k.Available < 0 {
				return fmt.Errorf("key pack %d: negative license count", k.KeyPackID)
			}
			if err := str("type_and_model", k.TypeAndModel); err != nil {
				return err
			}
		}
	}
	return nil
}

func str(what, s string) error {
	if len(s) > maxStateString {
		return fmt.Errorf("%s longer than %d bytes", what, maxStateString)
	}
	return nil
}

// serverName refuses what no license server is called: empty names, or
// separators that would split one name into several in a rule's list.
func serverName(s string) error {
	if s == "" || len(s) > 255 || strings.ContainsAny(s, ",;= \t\r\n\x00") {
		return fmt.Errorf("license server name %q is not a host name", clip(s))
	}
	return nil
}

// ApplyState adds the live state to a configuration read from exports:
// WMI's grace days, and its specified servers where no export named any.
func (c *Config) ApplyState(st *State, source string) {
	c.State = st
	c.Sources = append(c.Sources, source)
	if st.PartOfDomain != nil && c.PartOfDomain == nil {
		c.PartOfDomain = st.PartOfDomain
	}
	if sh := st.SessionHost; sh != nil {
		if sh.GraceDaysLeft != nil {
			c.SetGraceDays(*sh.GraceDaysLeft, "WMI Win32_TerminalServiceSetting.GetGracePeriodDays ("+source+")")
		}
		if len(c.LicenseServers) == 0 && len(sh.SpecifiedLicenseServers) > 0 {
			c.LicenseServers = append([]string{}, sh.SpecifiedLicenseServers...)
			c.LicenseServersFrom = "WMI Win32_TerminalServiceSetting.GetSpecifiedLicenseServerList (" + source + ")"
		}
	}
	for _, k := range st.RCMSubkeys {
		if strings.EqualFold(k, "GracePeriod") {
			c.GracePeriodKey = true
		}
	}
	c.Notes = append(c.Notes, stateNotes(st)...)
}

// stateNotes word what the report's configuration line does not show:
// each server's reachability, the license server's activation and CALs,
// and what WMI could not say.
func stateNotes(st *State) []string {
	at := "live state of " + st.CollectedAt.UTC().Format(time.RFC3339)
	var out []string
	if sh := st.SessionHost; sh != nil {
		if sh.LicensingName != "" {
			out = append(out, fmt.Sprintf("%s: WMI licensing mode %q%s", at, sh.LicensingName, map[string]string{"group-policy": " (set by group policy)"}[policySource(sh.PolicySourceLicensingType)]))
		}
		for _, s := range sh.Servers {
			out = append(out, fmt.Sprintf("%s: license server %s is %s (%d)", at, s.Name, ConnectivityName(s.Status), s.Status))
		}
	}
	if ls := st.LicenseServer; ls != nil {
		if a := ls.ActivationStatus; a != nil {
			out = append(out, fmt.Sprintf("%s: this license server is %s", at, [...]string{"activated", "not activated", "of unknown activation"}[*a]))
		}
		for _, k := range ls.KeyPacks {
			out = append(out, fmt.Sprintf("%s: key pack %d (%s, type %d): %d of %d available", at, k.KeyPackID, k.TypeAndModel, k.KeyPackType, k.Available, k.Total))
		}
	}
	for _, n := range st.Notes {
		out = append(out, at+": "+n)
	}
	return out
}

// stateFlat adds the state's facts to Flat's map: state_collected_at
// (RFC 3339), wmi_licensing_type,
// wmi_licensing_name, wmi_mode_policy and wmi_servers_policy ("group-policy"
// or "server"), ls_tested / ls_reachable / ls_unreachable (comma-separated
// server names), ls_status ("LS01=6,LS02=1"), ls_activation
// ("activated", "not-activated", "unknown"), cal_total / cal_issued /
// cal_available (non-temporary key packs), rcm_certificate_values.
func (c *Config) stateFlat(m map[string]string) {
	st := c.State
	if st == nil {
		return
	}
	if !st.CollectedAt.IsZero() {
		m["state_collected_at"] = st.CollectedAt.UTC().Format(time.RFC3339)
	}
	if sh := st.SessionHost; sh != nil {
		if sh.LicensingType != nil {
			m["wmi_licensing_type"] = strconv.Itoa(*sh.LicensingType)
		}
		if sh.LicensingName != "" {
			m["wmi_licensing_name"] = sh.LicensingName
		}
		if p := policySource(sh.PolicySourceLicensingType); p != "" {
			m["wmi_mode_policy"] = p
		}
		if p := policySource(sh.PolicySourceConfiguredLicenseServers); p != "" {
			m["wmi_servers_policy"] = p
		}
		var tested, ok, down, status []string
		for _, s := range sh.Servers {
			tested = append(tested, s.Name)
			status = append(status, s.Name+"="+strconv.Itoa(s.Status))
			if s.Reachable() {
				ok = append(ok, s.Name)
			}
			if s.Unreachable() {
				down = append(down, s.Name)
			}
		}
		for k, v := range map[string][]string{"ls_tested": tested, "ls_reachable": ok, "ls_unreachable": down, "ls_status": status} {
			if len(v) > 0 {
				m[k] = strings.Join(v, ",")
			}
		}
	}
	if ls := st.LicenseServer; ls != nil {
		if a := ls.ActivationStatus; a != nil {
			m["ls_activation"] = [...]string{"activated", "not-activated", "unknown"}[*a]
		}
		if len(ls.KeyPacks) > 0 {
			var total, issued, avail int64
			for _, k := range ls.KeyPacks {
				if k.KeyPackType == 4 { // temporary licenses are not bought CALs
					continue
				}
				total, issued, avail = total+k.Total, issued+k.Issued, avail+k.Available
			}
			m["cal_total"], m["cal_issued"], m["cal_available"] = fmtInt(total), fmtInt(issued), fmtInt(avail)
		}
	}
	var certs []string
	for _, n := range st.RCMValueNames {
		for _, c := range []string{"Certificate", "X509 Certificate", "X509 Certificate2", "X509 Certificate ID"} {
			if strings.EqualFold(n, c) {
				certs = append(certs, c)
			}
		}
	}
	if len(certs) > 0 {
		sort.Strings(certs)
		m["rcm_certificate_values"] = strings.Join(certs, ",")
	}
}

func policySource(p *int) string {
	if p == nil {
		return ""
	}
	switch *p {
	case 0:
		return "server"
	case 1:
		return "group-policy"
	}
	return "unknown"
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
