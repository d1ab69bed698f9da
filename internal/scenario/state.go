package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// State is one host's licensing-state.json in a scenario: what `tsdiag
// collect` reads from WMI on a live server (domain membership, the WMI
// licensing view), for diagnoses neither the log nor a registry export can
// show. Its keys are the state file's own JSON names (docs/collect.md);
// schema, host and collected_at are filled in.
type State struct {
	Host   string         `toml:"host"`
	Fields map[string]any `toml:"fields"`
}

// StateFile is a state file ready to write.
type StateFile struct {
	Host string
	Name string // <SHORT-HOST>-licensing-state.json: outside a host folder, scan ties it to the host it names
	Data []byte
}

// StateFiles renders the scenario's state files, collected at the end of
// the log's span (start + days).
func (s Scenario) StateFiles(start time.Time) ([]StateFile, error) {
	var out []StateFile
	for _, st := range s.States {
		data, err := st.json(start.AddDate(0, 0, s.Days))
		if err != nil {
			return nil, fmt.Errorf("%s: state of %s: %w", s.ID, st.Host, err)
		}
		short := strings.ToUpper(strings.SplitN(st.Host, ".", 2)[0])
		out = append(out, StateFile{Host: st.Host, Name: short + "-" + regcfg.StateFile, Data: data})
	}
	return out, nil
}

// json writes the file with "schema" as its first key, as collect does
// (regcfg.IsState recognises a state file by its first bytes).
func (st State) json(at time.Time) ([]byte, error) {
	rest := map[string]any{"host": st.Host, "collected_at": at.UTC().Format(time.RFC3339)}
	for k, v := range st.Fields {
		switch k {
		case "schema", "host", "collected_at":
			return nil, fmt.Errorf("%s is filled in by the generator", k)
		}
		rest[k] = v
	}
	body, err := json.MarshalIndent(rest, "", "  ")
	if err != nil {
		return nil, err
	}
	data := append([]byte(fmt.Sprintf("{\n  \"schema\": %q,", regcfg.StateSchema)), body[1:]...)
	return append(data, '\n'), nil
}

// validate refuses what collect would never write: a key the state file
// does not have (a typo would silently mean "not read"), or a value
// ParseState refuses.
func (st State) validate(hosts []string) error {
	if !contains(hosts, st.Host) {
		return fmt.Errorf("state host %q is not one of noise.hosts", st.Host)
	}
	data, err := st.json(DefaultStart)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var check regcfg.State
	if err := dec.Decode(&check); err != nil {
		return fmt.Errorf("state of %s: %v", st.Host, err)
	}
	if _, err := regcfg.ParseState(bytes.NewReader(data), "state of "+st.Host); err != nil {
		return err
	}
	return nil
}

// Configured reports a scenario diagnosed from its configuration (registry
// exports or state files) rather than from its log alone.
func (s Scenario) Configured() bool { return len(s.Registry) > 0 || len(s.States) > 0 }
