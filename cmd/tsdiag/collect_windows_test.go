//go:build windows

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tsdiag/tsdiag/internal/collect"
)

// collect on this machine, elevated: the bundle holds the System log as a
// real export, every item is accounted for in the manifest (collected, or
// left out with a reason: a runner is not a session host, so Licensing
// channels and keys may be absent), no RCM value data is in it, and scan
// reads the bundle without an error.
func TestCollectOnWindows(t *testing.T) {
	adminOnly(t)
	out := filepath.Join(t.TempDir(), "bundle.zip")
	var summary bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := collectTo(ctx, collect.NewWindowsHost(), out, 24*time.Hour, time.Now(), &summary); err != nil {
		t.Fatal(err)
	}
	files := readZip(t, out)
	m := bundleManifest(t, files)
	if !m.Admin {
		t.Fatal("manifest says not elevated; run the test as Administrator")
	}
	checkManifestItems(t, m, files)
	for name, body := range files {
		if strings.Contains(strings.ToLower(name), "rcm") && strings.HasSuffix(name, ".reg") {
			t.Errorf("%s: RCM is collected by value names only, never exported", name)
		}
		if bytes.Contains(body, []byte("X509 Certificate\"=hex")) {
			t.Errorf("%s holds certificate data", name)
		}
	}
	if !strings.Contains(summary.String(), "Next: tsdiag scan "+out) {
		t.Errorf("summary without the next step:\n%s", summary.String())
	}
	code, _, stderr := scanCLI(t, "", "scan", "--format", "json", "--fail-on", "none", out)
	if code != 0 {
		t.Fatalf("scan of the collected bundle: exit %d: %s", code, stderr)
	}
}

func readZip(t *testing.T, path string) map[string][]byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = b
	}
	return files
}

func bundleManifest(t *testing.T, files map[string][]byte) collect.Manifest {
	t.Helper()
	for name, body := range files {
		if filepath.Base(name) == collect.ManifestFile {
			var m collect.Manifest
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return m
		}
	}
	t.Fatal("no manifest in the bundle")
	return collect.Manifest{}
}

// checkManifestItems: System is collected with bytes in the zip; every
// other item is collected (and present) or says why not.
func checkManifestItems(t *testing.T, m collect.Manifest, files map[string][]byte) {
	t.Helper()
	sawSystem := false
	for _, it := range m.Items {
		switch {
		case it.Status == collect.StatusCollected && it.File != "":
			body, ok := files[m.Folder+"/"+it.File]
			if !ok || len(body) == 0 {
				t.Errorf("%s: manifest says collected as %s, the zip has %d bytes", it.Source, it.File, len(body))
			}
			if it.Source == "System" {
				sawSystem = bytes.HasPrefix(body, []byte("ElfFile\x00"))
			}
		case it.Status != collect.StatusCollected && it.Reason == "":
			t.Errorf("%s: %s without a reason", it.Source, it.Status)
		}
	}
	if !sawSystem {
		t.Errorf("the System log is not in the bundle as an .evtx export: %+v", m.Items)
	}
}
