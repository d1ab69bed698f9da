package main

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteHostileCorpus writes the CLI-level cases of issue #19 into
// $TSDIAG_HOSTILE_DIR for .ci/hostile (beside the archive and BinXml cases
// evtx and evtx/source write): floods of distinct clients, giant strings in
// event data, a deeply nested and a very wide XML event, a zip bomb, tars
// with huge headers, a .reg value continued over millions of lines, and
// user rules that are slow or fail on every event. Skipped unless the
// variable is set: the files are large. The behaviour of each (counts,
// errors naming the file, exit codes) is asserted by the unit tests named
// in docs/limits.md; this only writes the bytes whose cost the script
// measures.
func TestWriteHostileCorpus(t *testing.T) {
	dir := os.Getenv("TSDIAG_HOSTILE_DIR")
	if dir == "" {
		t.Skip("TSDIAG_HOSTILE_DIR not set")
	}
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Floods: a distinct client per event pair, through a user rule that
	// counts per client (10100: just over MaxGroupsPerRule) and through
	// the built-in per-client rules (300,000: 2.8 GB before the bounds).
	writeCorpusEVTX(t, filepath.Join(dir, "flood-10100.evtx"), 10100*2, func(i int) fev {
		return fe(fxTS, 1028, i/2/500, 9, "RDSH01", fmt.Sprintf("WS-%06d", i/2))
	})
	writeFileText(t, filepath.Join(dir, "rules", "flood", "flood.toml"), `
[[rule]]
id = "per-client-renewal"
title = "Renewal refused for one client"
severity = "low"
confidence = 1
events = [{ provider = "TermService", id = 1028 }]
group_by = { host = "Computer", client = "Param(1)" }
[rule.count]
threshold = 2
window = "30d"
`)
	writeCorpusEVTX(t, filepath.Join(dir, "flood-300k.evtx"), 300000, func(i int) fev {
		return fe(fxRCM, 1003, i/20000, 9, "RDSH01", fmt.Sprintf("WS-%06d", i))
	})
	// Giant strings in licensing events: 6,000 distinct clients, each
	// name 30,000 characters (60 KB in UTF-16, as large as one EVTX
	// substitution may be): every one is a group the rules keep.
	writeCorpusEVTX(t, filepath.Join(dir, "giant-params.evtx"), 6000, func(i int) fev {
		return fe(fxRCM, 1003, i/1000, 9, "RDSH01", fmt.Sprintf("%06d", i)+strings.Repeat("C", 30000))
	})
	// The same in an XML export, where one event may be 16 MiB: four
	// events whose client name is 15 MiB, then licensing events.
	writeXMLExport(t, filepath.Join(dir, "giant-data.xml"), func(w io.Writer) {
		for i := range 4 {
			xmlEvent(w, i, "RDSH01", func(w io.Writer) {
				io.WriteString(w, "<Data Name='param1'>")
				io.WriteString(w, strings.Repeat("C", 15<<20))
				io.WriteString(w, "</Data>")
			})
		}
		for i := 4; i < 24; i++ {
			xmlEvent(w, i, "RDSH01", func(w io.Writer) { fmt.Fprintf(w, "<Data Name='param1'>WS-%02d</Data>", i) })
		}
	})
	// A deeply nested XML event (a million levels) and a wide one (4
	// million empty children in 16 MB: 401 MB before), licensing events
	// after each.
	writeXMLExport(t, filepath.Join(dir, "deep-nested.xml"), func(w io.Writer) {
		xmlEvent(w, 0, "RDSH01", func(w io.Writer) {
			io.WriteString(w, strings.Repeat("<a>", 1_000_000))
			io.WriteString(w, strings.Repeat("</a>", 1_000_000))
		})
		for i := 1; i < 21; i++ {
			xmlEvent(w, i, "RDSH01", func(w io.Writer) { fmt.Fprintf(w, "<Data Name='param1'>WS-%02d</Data>", i) })
		}
	})
	writeXMLExport(t, filepath.Join(dir, "wide.xml"), func(w io.Writer) {
		xmlEvent(w, 0, "RDSH01", func(w io.Writer) { io.WriteString(w, strings.Repeat("<a/>", 4_000_000)) })
		for i := 1; i < 21; i++ {
			xmlEvent(w, i, "RDSH01", func(w io.Writer) { fmt.Fprintf(w, "<Data Name='param1'>WS-%02d</Data>", i) })
		}
	})
	// A zip bomb: 2 GiB of zeros deflated to about 2 MB, behind a real log.
	log := filepath.Join(dir, "renewals-small.evtx")
	writeCorpusEVTX(t, log, 50, func(i int) fev { return fe(fxRCM, 1003, 0, i%24, "RDSH01", "WS-17") })
	logBytes, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	writeWith(t, filepath.Join(dir, "bomb.zip"), func(w io.Writer) {
		zw := zip.NewWriter(w)
		m, _ := zw.Create("RDSH01/System.evtx")
		m.Write(logBytes)
		m, _ = zw.Create("RDSH02/System.evtx")
		m.Write(logBytes[:4096])
		zeros(m, 2<<30)
		zw.Close()
	})
	// Tars with huge headers: a 64 MiB PAX record and a 64 MiB GNU long
	// name before a real log (written by hand: archive/tar's writer
	// refuses them, its reader has to cope).
	for name, special := range map[string][]byte{
		"huge-pax.tar":      tarEntry('x', "PaxHeaders/System.evtx", paxRecord("comment", strings.Repeat("x", 64<<20)), "ustar\x0000"),
		"huge-longname.tar": tarEntry('L', "././@LongLink", []byte(strings.Repeat("n", 64<<20)+"\x00"), "ustar  \x00"),
	} {
		writeWith(t, filepath.Join(dir, name), func(w io.Writer) {
			w.Write(special)
			w.Write(tarEntry('0', "RDSH01/System.evtx", logBytes, "ustar\x0000"))
			w.Write(tarEntry('0', "RDSH01/Application.evtx", logBytes, "ustar\x0000"))
			w.Write(make([]byte, 1024))
		})
	}
	// A .reg value continued over 4 million lines (256 MiB of hex).
	writeWith(t, filepath.Join(dir, "RDSH01", "continued.reg"), func(w io.Writer) {
		io.WriteString(w, "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\RCM\\Licensing Core]\r\n\"LicensingMode\"=dword:00000004\r\n\"Blob\"=hex:")
		line := strings.Repeat("00,", 21) + "\\\r\n  "
		for range 4 << 20 {
			io.WriteString(w, line)
		}
		io.WriteString(w, "00\r\n")
	})
	// User rules that stay inside expr's per-evaluation budgets but are
	// slow (a regex over 30,000 characters, ~6 ms an event) or fail on
	// every event (a range over the memory budget).
	writeCorpusEVTX(t, filepath.Join(dir, "big-renewals.evtx"), 3000, func(i int) fev {
		return fe(fxTS, 1028, i/200, 9, "RDSH01", strings.Repeat("abc", 10000))
	})
	writeCorpusEVTX(t, filepath.Join(dir, "renewals-100k.evtx"), 100000, func(i int) fev {
		return fe(fxTS, 1028, i/5000, 9, "RDSH01", fmt.Sprintf("WS-%03d", i%500))
	})
	for name, when := range map[string]string{"slow": `Param(1) matches "(a|b|c)*d$"`, "failing": `len(filter(1..1000000, # > 0)) > 0`} {
		writeFileText(t, filepath.Join(dir, "rules", name, name+".toml"), userRule(name+"-rule", when))
	}
	t.Logf("hostile CLI corpus written to %s", dir)
}

func writeCorpusEVTX(t *testing.T, path string, n int, ev func(i int) fev) {
	t.Helper()
	evs := make([]fev, n)
	for i := range evs {
		evs[i] = ev(i)
	}
	writeEVTX(t, path, evs)
}

func writeFileText(t *testing.T, path, text string) {
	t.Helper()
	writeWith(t, path, func(w io.Writer) { io.WriteString(w, text) })
}

func writeWith(t *testing.T, path string, fill func(io.Writer)) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	fill(bw)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func zeros(w io.Writer, n int64) {
	z := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, int64(len(z)))
		w.Write(z[:k])
		n -= k
	}
}

func writeXMLExport(t *testing.T, path string, events func(io.Writer)) {
	writeWith(t, path, func(w io.Writer) {
		io.WriteString(w, "<Events>\n")
		events(w)
		io.WriteString(w, "</Events>\n")
	})
}

// tarEntry is one raw tar entry (header and padded data).
func tarEntry(flag byte, name string, data []byte, magic string) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(data)))
	copy(h[136:], "00000000000\x00")
	h[156] = flag
	copy(h[257:], magic)
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	out := append(h, data...)
	return append(out, make([]byte, (512-len(data)%512)%512)...)
}

// paxRecord is one PAX extended header record ("%d key=value\n", the
// length counting itself).
func paxRecord(key, value string) []byte {
	n := len(key) + len(value) + 3
	for {
		s := fmt.Sprintf("%d %s=%s\n", n, key, value)
		if len(s) == n {
			return []byte(s)
		}
		n = len(s)
	}
}

// xmlEvent writes one RCM 1003 event (an invalid client license) of the
// form wevtutil qe /f:xml gives, data written by data.
func xmlEvent(w io.Writer, i int, host string, data func(io.Writer)) {
	fmt.Fprintf(w, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='%s'/><EventID>1003</EventID><Level>3</Level><TimeCreated SystemTime='2024-01-10T09:%02d:%02d.0000000Z'/><EventRecordID>%d</EventRecordID><Channel>System</Channel><Computer>%s</Computer></System><EventData>",
		fxRCM, i/60%60, i%60, i+1, host)
	data(w)
	io.WriteString(w, "</EventData></Event>\n")
}
