package regcfg

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

const goodState = `{"schema": "tsdiag-licensing-state/1", "host": "RDSH01", "collected_at": "2024-03-21T12:00:00Z",
 "session_host": {"licensing_name": "Per Device", "policy_source_licensing_type": 0, "specified_license_servers": ["LS01", "LS02"],
  "grace_days_left": 0, "servers": [{"name": "LS01", "status": 6}, {"name": "LS02", "status": 11}]},
 "rcm_subkeys": ["Licensing Core"]}`

func TestParseStateFacts(t *testing.T) {
	if !IsState([]byte(goodState)) || !IsState([]byte("\xef\xbb\xbf \r\n{ \"schema\" : \"tsdiag-licensing-state/1\"")) {
		t.Fatal("state not recognised")
	}
	if IsState([]byte(`{"host": "x", "schema": "tsdiag-licensing-state/1"}`)) || IsState([]byte(`[{"schema": "tsdiag-licensing-state/1"}]`)) {
		t.Error("schema must be the first key of an object")
	}
	st, err := ParseState(strings.NewReader(goodState), "b.zip!RDSH01/licensing-state.json")
	if err != nil {
		t.Fatal(err)
	}
	c := Config{LicenseServers: []string{"LS09"}}
	c.ApplyState(st, "licensing-state.json")
	f := c.Flat()
	// The export's list wins over WMI's: the rules compare the registry.
	for k, v := range map[string]string{"license_servers": "LS09", "grace_days_left": "0", "ls_unreachable": "LS01",
		"ls_reachable": "LS02", "ls_tested": "LS01,LS02", "ls_status": "LS01=6,LS02=11", "wmi_mode_policy": "server", "grace_period_key": "false"} {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if c.GraceDaysFrom == "" || c.State != st || c.Empty() {
		t.Errorf("config: %+v", c)
	}
}

// Hostile and malformed state files: each is refused with an error that
// names the file, and nothing past MaxStateSize is held.
func TestParseStateRefuses(t *testing.T) {
	const name = "case.zip!RDSH01/licensing-state.json"
	head := `{"schema": "tsdiag-licensing-state/1", `
	for _, tc := range []struct{ name, in, want string }{
		{"truncated", head + `"host": "RDSH01"`, "JSON ends early"},
		{"syntax", head + `"host": RDSH01}`, "offset"},
		{"wrong type", head + `"session_host": {"grace_days_left": "12"}}`, "grace_days_left is string, want int"},
		{"other schema", `{"schema": "tsdiag-licensing-state/9"}`, `schema "tsdiag-licensing-state/9"`},
		{"negative days", head + `"session_host": {"grace_days_left": -3}}`, "not a day count"},
		{"status out of range", head + `"session_host": {"servers": [{"name": "LS01", "status": 99}]}}`, "status 99"},
		{"name with comma", head + `"session_host": {"specified_license_servers": ["LS01,LS02"]}}`, "not a host name"},
		{"activation", head + `"license_server": {"activation_status": 7}}`, "activation_status 7"},
		{"negative CALs", head + `"license_server": {"key_packs": [{"key_pack_id": 1, "available_licenses": -1}]}}`, "negative"},
		{"two objects", head + `"host": "A"} {}`, "data after the JSON object"},
		{"not UTF-8", head + "\"host\": \"\xff\"}", "not UTF-8"},
		{"long name", head + `"host": "` + strings.Repeat("a", 600) + `"}`, "longer than"},
		{"too many servers", head + `"session_host": {"servers": [` + strings.Repeat(`{"name": "A", "status": 1},`, 70) + `{"name": "A", "status": 1}]}}`, "more than 64"},
		{"deep nesting", head + `"os": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, ""},
	} {
		_, err := ParseState(strings.NewReader(tc.in), name)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), name+": ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	r := &countingReader{r: io.MultiReader(strings.NewReader(head+`"notes": ["`), bytes.NewReader(bytes.Repeat([]byte("x"), 64<<20)))}
	_, err := ParseState(r, name)
	if err == nil || !strings.Contains(err.Error(), "MaxStateSize") {
		t.Errorf("oversized: %v", err)
	}
	if r.n > MaxStateSize+64<<10 {
		t.Errorf("read %d bytes of an oversized file, bound is %d", r.n, MaxStateSize)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
