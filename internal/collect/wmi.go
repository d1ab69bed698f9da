package collect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// maxWMIOutput bounds StateScript's output: a real one is a few KiB.
const maxWMIOutput = 1 << 20

// wmiOutput is StateScript's JSON. PowerShell's ConvertTo-Json writes a
// one-element array as the element itself in some versions, so the lists
// accept either (many).
type wmiOutput struct {
	OperatingSystem *struct {
		Caption, Version, BuildNumber string
	}
	ComputerSystem *struct {
		PartOfDomain *bool
	}
	TerminalServiceSetting *struct {
		LicensingType                        *int
		LicensingName                        string
		PolicySourceLicensingType            *int
		PolicySourceConfiguredLicenseServers *int
	}
	GracePeriodDays *struct {
		ReturnValue int
		DaysLeft    *int
	}
	SpecifiedLicenseServerList *struct {
		ReturnValue     int
		SpecifiedLSList many[string]
	}
	Connectivity many[struct {
		ServerName               string
		ReturnValue              int
		TStoLSConnectivityStatus *int
		Error                    string
	}]
	ActivationStatus *struct {
		ReturnValue      int
		ActivationStatus *int
	}
	KeyPacks many[struct {
		KeyPackId, KeyPackType, ProductType              int
		ProductVersion, TypeAndModel                     string
		TotalLicenses, IssuedLicenses, AvailableLicenses int64
	}]
	Errors map[string]string
}

// many is a JSON list that may also be written as its single element or null.
type many[T any] []T

func (m *many[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*m = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var list []T
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*m = list
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*m = []T{one}
	return nil
}

// ParseWMI turns StateScript's output into the state file's content. What
// WMI refused becomes a note naming the class or method; a method that
// returned a nonzero ReturnValue ("Remote Desktop Services WMI Provider
// Error Codes") is treated as not answered.
func ParseWMI(out []byte, host string, at time.Time) (*regcfg.State, error) {
	if len(out) > maxWMIOutput {
		return nil, fmt.Errorf("%s: PowerShell output larger than %d bytes", wmiRawFile, maxWMIOutput)
	}
	out = bytes.TrimPrefix(bytes.TrimSpace(out), []byte("\xef\xbb\xbf"))
	var w wmiOutput
	if err := json.Unmarshal(out, &w); err != nil {
		return nil, fmt.Errorf("%s: PowerShell output is not the expected JSON: %v", wmiRawFile, err)
	}
	st := &regcfg.State{Schema: regcfg.StateSchema, Host: host, CollectedAt: at.UTC()}
	if o := w.OperatingSystem; o != nil {
		st.OS = &regcfg.OSInfo{Caption: o.Caption, Version: o.Version, Build: o.BuildNumber}
	}
	if cs := w.ComputerSystem; cs != nil {
		st.PartOfDomain = cs.PartOfDomain
	}
	if ts := w.TerminalServiceSetting; ts != nil {
		sh := &regcfg.SessionHostState{
			LicensingType: ts.LicensingType, LicensingName: strings.TrimSpace(ts.LicensingName),
			PolicySourceLicensingType:            ts.PolicySourceLicensingType,
			PolicySourceConfiguredLicenseServers: ts.PolicySourceConfiguredLicenseServers,
			SpecifiedLicenseServers:              []string{},
		}
		if g := w.GracePeriodDays; g != nil {
			if g.ReturnValue == 0 && g.DaysLeft != nil {
				sh.GraceDaysLeft = g.DaysLeft
			} else {
				st.Notes = append(st.Notes, fmt.Sprintf("GetGracePeriodDays returned %d: grace days unknown", g.ReturnValue))
			}
		}
		if l := w.SpecifiedLicenseServerList; l != nil {
			if l.ReturnValue == 0 {
				for _, s := range l.SpecifiedLSList {
					if s = strings.TrimSpace(s); s != "" {
						sh.SpecifiedLicenseServers = append(sh.SpecifiedLicenseServers, s)
					}
				}
			} else {
				st.Notes = append(st.Notes, fmt.Sprintf("GetSpecifiedLicenseServerList returned %d: servers unknown", l.ReturnValue))
			}
		}
		for _, c := range w.Connectivity {
			switch {
			case c.Error != "":
				st.Notes = append(st.Notes, fmt.Sprintf("GetTStoLSConnectivityStatus(%s): %s", c.ServerName, oneLine(c.Error)))
			case c.ReturnValue != 0 || c.TStoLSConnectivityStatus == nil:
				st.Notes = append(st.Notes, fmt.Sprintf("GetTStoLSConnectivityStatus(%s) returned %d: status unknown", c.ServerName, c.ReturnValue))
			default:
				sh.Servers = append(sh.Servers, regcfg.ServerStatus{Name: strings.TrimSpace(c.ServerName), Status: *c.TStoLSConnectivityStatus})
			}
		}
		st.SessionHost = sh
	}
	if a := w.ActivationStatus; a != nil || len(w.KeyPacks) > 0 {
		ls := &regcfg.LicenseServerState{}
		if a != nil && a.ReturnValue == 0 {
			ls.ActivationStatus = a.ActivationStatus
		} else if a != nil {
			st.Notes = append(st.Notes, fmt.Sprintf("GetActivationStatus returned %d: activation unknown", a.ReturnValue))
		}
		for _, k := range w.KeyPacks {
			ls.KeyPacks = append(ls.KeyPacks, regcfg.KeyPack{KeyPackID: k.KeyPackId, KeyPackType: k.KeyPackType,
				ProductType: k.ProductType, ProductVersion: k.ProductVersion, TypeAndModel: k.TypeAndModel,
				Total: k.TotalLicenses, Issued: k.IssuedLicenses, Available: k.AvailableLicenses})
		}
		st.LicenseServer = ls
	}
	keys := make([]string, 0, len(w.Errors))
	for k := range w.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		st.Notes = append(st.Notes, k+": "+oneLine(w.Errors[k]))
	}
	return st, nil
}

// oneLine keeps the first line of a message, bounded: PowerShell error
// text may span lines and carry the failing script line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
