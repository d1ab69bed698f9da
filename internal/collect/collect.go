package collect

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// Host is what collect needs from the machine it runs on. The Windows
// implementation runs the programs; tests replay recorded outputs.
type Host interface {
	Name() string
	Elevated() bool
	// Run runs prog with args and returns what it printed.
	Run(ctx context.Context, prog string, args ...string) (stdout, stderr []byte, err error)
	// RCMNames lists the value names and subkey names of RCMKey.
	RCMNames() (values, subkeys []string, err error)
}

// Options steer one collection.
type Options struct {
	Since   time.Duration // 0: whole logs
	Now     time.Time
	Tool    string // tsdiag version, for the manifest
	WorkDir string // an empty directory the commands write into
}

// Result is a collection: the files in WorkDir and what the manifest says.
type Result struct {
	Folder   string // the host's folder inside the bundle
	WorkDir  string
	Files    []string // file names in WorkDir, in bundle order
	Manifest Manifest
	State    *regcfg.State // nil when WMI could not be asked
}

// Collect gathers one host's bundle into o.WorkDir. It fails only when it
// cannot write there; everything else that fails is an item of the
// manifest with its reason.
func Collect(ctx context.Context, h Host, o Options) (*Result, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	name := h.Name()
	res := &Result{Folder: hostLabel(name), WorkDir: o.WorkDir}
	res.Manifest = Manifest{Schema: ManifestSchema, Tool: o.Tool, Host: name, Folder: res.Folder,
		CollectedAt: o.Now.UTC(), Admin: h.Elevated(), Items: []Item{}, Never: neverCollected}
	if o.Since > 0 {
		res.Manifest.Since = o.Since.String()
	}
	admin := res.Manifest.Admin
	for _, ch := range Channels {
		res.channel(ctx, h, ch, o.Since, admin)
	}
	for _, k := range RegKeys {
		res.regKey(ctx, h, k, admin)
	}
	values, subkeys := res.rcmNames(h, admin)
	if err := res.state(ctx, h, o.Now, values, subkeys, admin); err != nil {
		return nil, err
	}
	if err := res.writeJSON(ManifestFile, res.Manifest); err != nil {
		return nil, err
	}
	return res, nil
}

func (res *Result) add(it Item) {
	if it.Status == StatusCollected && it.File != "" {
		if fi, err := os.Stat(filepath.Join(res.WorkDir, it.File)); err == nil {
			it.Bytes = fi.Size()
		}
		res.Files = append(res.Files, it.File)
	}
	res.Manifest.Items = append(res.Manifest.Items, it)
}

func (res *Result) channel(ctx context.Context, h Host, ch Channel, since time.Duration, admin bool) {
	it := Item{Kind: "channel", Source: ch.Name, File: ch.File}
	out, errOut, err := h.Run(ctx, "wevtutil", ChannelInfoArgs(ch.Name)...)
	if err != nil {
		it.Status, it.Reason = failureReason(errOut, out, err, admin)
		it.File = ""
		res.add(it)
		return
	}
	if ci, perr := ParseChannelInfo(out); perr == nil {
		it.Enabled = ci.Enabled
	}
	path := filepath.Join(res.WorkDir, ch.File)
	out, errOut, err = h.Run(ctx, "wevtutil", ExportArgs(ch.Name, path, since)...)
	if err == nil {
		if _, serr := os.Stat(path); serr != nil {
			err = fmt.Errorf("wevtutil reported success but wrote no %s", ch.File)
		}
	}
	if err != nil {
		it.Status, it.Reason = failureReason(errOut, out, err, admin)
		it.File = ""
		os.Remove(path)
		res.add(it)
		return
	}
	it.Status = StatusCollected
	if it.Enabled != nil && !*it.Enabled {
		it.Reason = "channel disabled: holds only what was logged before it was disabled"
	}
	res.add(it)
}

func (res *Result) regKey(ctx context.Context, h Host, k RegKey, admin bool) {
	it := Item{Kind: "registry", Source: k.Key, File: k.File}
	path := filepath.Join(res.WorkDir, k.File)
	out, errOut, err := h.Run(ctx, "reg", RegExportArgs(k.Key, path)...)
	if err == nil {
		if _, serr := os.Stat(path); serr != nil {
			err = fmt.Errorf("reg export reported success but wrote no %s", k.File)
		}
	}
	if err != nil {
		// reg export returns 1 for any failure (Windows Commands, "reg
		// export"); a policy key that was never set is the usual one.
		it.Status, it.Reason = failureReason(errOut, out, err, admin)
		if it.Status == StatusFailed && strings.Contains(strings.ToLower(it.Reason), "unable to find") {
			it.Status = StatusLeftOut
		}
		it.File = ""
		os.Remove(path)
		res.add(it)
		return
	}
	it.Status = StatusCollected
	res.add(it)
}

func (res *Result) rcmNames(h Host, admin bool) (values, subkeys []string) {
	it := Item{Kind: "rcm-names", Source: `HKLM\` + RCMKey, File: StateFile}
	values, subkeys, err := h.RCMNames()
	if err != nil {
		it.Status, it.Reason = failureReason([]byte(err.Error()), nil, err, admin)
		it.File = ""
	} else {
		it.Status = StatusCollected
		it.Reason = "value and subkey names only (rcm_value_names, rcm_subkeys); value data never read"
	}
	res.Manifest.Items = append(res.Manifest.Items, it)
	return values, subkeys
}

func (res *Result) state(ctx context.Context, h Host, now time.Time, values, subkeys []string, admin bool) error {
	it := Item{Kind: "state", Source: "WMI (PowerShell Get-CimInstance / Invoke-CimMethod)", File: StateFile}
	out, errOut, err := h.Run(ctx, "powershell.exe", StateArgs()...)
	var st *regcfg.State
	if err == nil {
		st, err = ParseWMI(out, h.Name(), now)
	}
	if err != nil {
		it.Status, it.Reason = failureReason(errOut, nil, err, admin)
		st = &regcfg.State{Schema: regcfg.StateSchema, Host: h.Name(), CollectedAt: now.UTC(),
			Notes: []string{"WMI not read: " + it.Reason}}
	} else {
		it.Status = StatusCollected
		if len(st.Notes) > 0 {
			it.Reason = strings.Join(st.Notes, "; ")
		}
	}
	st.RCMValueNames, st.RCMSubkeys = values, subkeys
	if st.OS != nil {
		res.Manifest.OS = strings.TrimSpace(st.OS.Caption + " " + st.OS.Version)
	}
	res.State = st
	if err := res.writeJSON(StateFile, st); err != nil {
		return err
	}
	if it.Status != StatusCollected {
		it.Reason += " (the state file holds the registry names only)"
	}
	if fi, err := os.Stat(filepath.Join(res.WorkDir, StateFile)); err == nil {
		it.Bytes = fi.Size()
	}
	res.Manifest.Items = append(res.Manifest.Items, it)
	return nil
}

func (res *Result) writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(res.WorkDir, name), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("collect: %v", err)
	}
	res.Files = append(res.Files, name)
	return nil
}

// WriteZip writes the bundle: every file under the host's folder, the
// layout scan reads (a folder per host; exports and the state file apply
// to the host of their folder).
func (res *Result) WriteZip(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, name := range res.Files {
		if err := addFile(zw, res.Folder+"/"+name, filepath.Join(res.WorkDir, name), res.Manifest.CollectedAt); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addFile(zw *zip.Writer, name, path string, at time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("collect: %v", err)
	}
	defer f.Close()
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: at})
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, f)
	return err
}
