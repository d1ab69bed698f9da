package collect

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// ManifestSchema names the manifest format; the first key of the file so
// that scan recognises (and sets aside) a manifest from its first bytes.
const ManifestSchema = regcfg.CollectManifestSchema

// Manifest says what a bundle holds, what it left out and why.
type Manifest struct {
	Schema      string    `json:"schema"`
	Tool        string    `json:"tool"`
	Host        string    `json:"host"` // the computer's name as Windows gave it
	Folder      string    `json:"folder"`
	CollectedAt time.Time `json:"collected_at"`
	Since       string    `json:"since,omitempty"` // "" = whole logs
	Admin       bool      `json:"admin"`
	OS          string    `json:"os,omitempty"`
	Items       []Item    `json:"items"`
	// Never lists what is left out of every bundle on purpose.
	Never []string `json:"never"`
}

// Item is one thing collect tried to gather.
type Item struct {
	Kind   string `json:"kind"` // "channel", "registry", "rcm-names", "state"
	Source string `json:"source"`
	File   string `json:"file,omitempty"`
	Status string `json:"status"` // StatusCollected, StatusLeftOut, StatusFailed
	Reason string `json:"reason,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// Channel configuration from wevtutil gl (channels only).
	Enabled *bool `json:"enabled,omitempty"`
}

// Item statuses.
const (
	StatusCollected = "collected"
	StatusLeftOut   = "left-out" // absent, or not readable without admin rights
	StatusFailed    = "failed"   // present, but the command failed
)

// neverCollected is the manifest's standing list of what no bundle holds.
var neverCollected = []string{
	`RCM value data (the host's certificate bodies: Certificate, X509 Certificate, X509 Certificate2, X509 Certificate ID): value names only`,
	`the RCM\GracePeriod timer value`,
	"credentials, license server IDs and key pack IDs of activation (no WMI property holding them is read)",
}

// Missing lists the items not collected, one line each, for the summary.
func (m *Manifest) Missing() []string {
	var out []string
	for _, it := range m.Items {
		if it.Status != StatusCollected {
			out = append(out, fmt.Sprintf("%s %s: %s (%s)", it.Kind, it.Source, it.Status, it.Reason))
		}
	}
	return out
}

// ChannelInfo is the part of wevtutil gl /f:xml that collect reads: the
// channel's name and whether it is enabled. The element names are those of
// the configuration file format the wevtutil page shows (<channel name=…>
// <logging><retention>, <autoBackup>, <maxSize>); the enabled attribute is
// not on that page (unconfirmed), so its absence leaves Enabled nil.
type ChannelInfo struct {
	Name    string
	Enabled *bool
	MaxSize int64
}

// ParseChannelInfo reads wevtutil gl /f:xml output.
func ParseChannelInfo(out []byte) (ChannelInfo, error) {
	var x struct {
		XMLName xml.Name
		Name    string `xml:"name,attr"`
		Enabled string `xml:"enabled,attr"`
		Logging struct {
			MaxSize int64 `xml:"maxSize"`
		} `xml:"logging"`
	}
	if len(out) > 1<<20 {
		return ChannelInfo{}, fmt.Errorf("wevtutil gl: output larger than 1 MiB")
	}
	if err := xml.Unmarshal(out, &x); err != nil {
		return ChannelInfo{}, fmt.Errorf("wevtutil gl: not channel XML: %v", err)
	}
	if x.XMLName.Local != "channel" || x.Name == "" {
		return ChannelInfo{}, fmt.Errorf("wevtutil gl: root element <%s>, want <channel name=…>", x.XMLName.Local)
	}
	ci := ChannelInfo{Name: x.Name, MaxSize: x.Logging.MaxSize}
	switch strings.ToLower(x.Enabled) {
	case "true":
		t := true
		ci.Enabled = &t
	case "false":
		f := false
		ci.Enabled = &f
	}
	return ci, nil
}

// Win32 error codes a failed command may exit with ("System Error Codes",
// Microsoft Learn). That wevtutil exits with the error's code is
// unconfirmed; the English message texts are checked too.
const (
	errAccessDenied    = 5     // ERROR_ACCESS_DENIED, "Access is denied."
	errChannelNotFound = 15007 // ERROR_EVT_CHANNEL_NOT_FOUND, "The specified channel could not be found."
)

// failureReason words why a command failed for the manifest. Access denied
// and a missing channel are recognised by exit code or by Windows' English
// message text; the messages are localized (a German server prints "Der
// angegebene Kanal wurde nicht gefunden."), so anything else is quoted as
// is rather than guessed.
func failureReason(stderr, stdout []byte, err error, admin bool) (status, reason string) {
	msg := oneLine(string(stderr))
	if msg == "" {
		msg = oneLine(string(stdout))
	}
	low := strings.ToLower(msg)
	code := -1
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		code = ec.ExitCode()
	}
	switch {
	case code == errAccessDenied, strings.Contains(low, "access is denied"):
		if !admin {
			return StatusLeftOut, "not admin: " + msg
		}
		return StatusFailed, "access denied: " + msg
	case code == errChannelNotFound, strings.Contains(low, "could not be found"), strings.Contains(low, "unable to find"):
		return StatusLeftOut, "absent: " + msg
	}
	if msg == "" && err != nil {
		msg = err.Error()
	}
	if !admin {
		return StatusLeftOut, "not admin (may need elevation): " + msg
	}
	return StatusFailed, msg
}
