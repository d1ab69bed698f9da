package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tsdiag/tsdiag/evtx/writer"
	"github.com/tsdiag/tsdiag/internal/scenario"
)

// The first pass that finds .reg exports before the events are evaluated
// costs a second read of every input (decompression included, no record
// decoding). Compare it with the whole scan of the same bundle:
//
//	go test ./cmd/tsdiag -run '^$' -bench ScanConfigPass -benchtime 3x
func BenchmarkScanConfigPass(b *testing.B) {
	sc, err := scenario.LoadFile(scenario.Builtin, "license-server-unreachable-2019.toml")
	if err != nil {
		b.Skipf("scenario not available: %v", err)
	}
	f, err := os.Create(filepath.Join(b.TempDir(), "System.evtx"))
	if err != nil {
		b.Fatal(err)
	}
	w := writer.New(f)
	for _, r := range sc.Generate(1, scenario.DefaultStart, 64<<20) {
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	log, err := os.ReadFile(f.Name())
	if err != nil {
		b.Fatal(err)
	}
	bundle := filepath.Join(b.TempDir(), "case.tgz")
	if err := os.WriteFile(bundle, tgzB(b, map[string][]byte{"RDSH05/System.evtx": log, "RDSH05/licensing.reg": []byte(
		"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n\"LicensingMode\"=dword:00000004\r\n")}), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name  string
		input string
	}{{"tgz", bundle}, {"evtx", f.Name()}} {
		b.Run(in.name+"/first-pass", func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			for i := 0; i < b.N; i++ {
				newRegConfig([]string{in.input}).firstPass([]string{in.input})
			}
		})
		b.Run(in.name+"/whole-scan", func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			for i := 0; i < b.N; i++ {
				if code := run([]string{"scan", "--format", "json", "--fail-on", "none", in.input}, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}

func tgzB(b testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name]))}); err != nil {
			b.Fatal(err)
		}
		tw.Write(files[name])
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}
