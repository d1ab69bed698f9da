package tsdiag

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tsdiag/tsdiag/engine"
	"github.com/tsdiag/tsdiag/evtx"
	"github.com/tsdiag/tsdiag/evtx/source"
	"github.com/tsdiag/tsdiag/internal/regcfg"
)

// regConfig collects the registry exports (.reg) of one scan, by the host
// each belongs to. A .reg file does not name its computer, so the host is
// taken from where the export sits (see regLabel).
//
// Rules must see the configuration before the first event is evaluated,
// so a scan reads exports in a first pass that decodes no log (SkipLogs);
// the second pass takes them again without parsing. Standard input cannot
// be read twice: an export found there is reported but rules do not see it.
type regConfig struct {
	roots  []string                   // directory inputs, to make paths relative
	files  map[string]*regcfg.RegFile // by host label
	states map[string]stateFile       // live state files (tsdiag collect), by host label
	done   map[string]error           // files parsed (nil) or refused, by name
}

// stateFile is one parsed licensing-state.json and the name it was read as.
type stateFile struct {
	name string
	st   *regcfg.State
}

func newRegConfig(inputs []string) *regConfig {
	c := &regConfig{files: map[string]*regcfg.RegFile{}, states: map[string]stateFile{}, done: map[string]error{}}
	for _, in := range inputs {
		if in != "-" && isDir(in) {
			c.roots = append(c.roots, in)
		}
	}
	return c
}

// take is the source.Options.OnOther hook: it claims registry exports,
// the live state files of collected bundles and (setting them aside) their
// manifests.
func (c *regConfig) take(name string, head []byte, r io.Reader) (bool, error) {
	isState := regcfg.IsState(head)
	switch {
	case regcfg.IsManifest(head):
		return true, nil
	case !isState && !regcfg.IsReg(head):
		return false, nil
	}
	if err, ok := c.done[name]; ok {
		return true, err
	}
	var err error
	if isState {
		err = c.parseState(name, r)
	} else {
		err = c.parse(name, r)
	}
	c.done[name] = err
	return true, err
}

// parseState reads a state file; it applies to the host of its folder in
// the bundle, or to the host it names when it sits in no folder. Of two
// for one host, the one collected last is kept.
func (c *regConfig) parseState(name string, r io.Reader) error {
	st, err := regcfg.ParseState(r, name)
	if err != nil {
		return err
	}
	label := c.regLabel(name)
	if !strings.Contains(c.inner(name), "/") && st.Host != "" {
		label = engine.HostKey(st.Host)
	}
	if old, ok := c.states[label]; !ok || st.CollectedAt.After(old.st.CollectedAt) {
		c.states[label] = stateFile{name, st}
	}
	return nil
}

func (c *regConfig) parse(name string, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, regcfg.MaxRegFileSize+1))
	if err != nil {
		return fmt.Errorf("%s: read error: %v", name, err)
	}
	// Parse into a scratch set first: a broken export adds nothing.
	if _, err := regcfg.ParseReg(bytes.NewReader(data), name); err != nil {
		return regError(name, err)
	}
	label := c.regLabel(name)
	rf := c.files[label]
	if rf == nil {
		rf = regcfg.NewRegFile()
		c.files[label] = rf
	}
	return regError(name, rf.Parse(bytes.NewReader(data), name))
}

// regError words a parse error as "NAME: line N: reason".
func regError(name string, err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), name)
	if rest, ok := strings.CutPrefix(msg, ":"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return fmt.Errorf("%s: line %s", name, rest)
	}
	return fmt.Errorf("%s%s", name, msg)
}

// regLabel names the host an export belongs to: the folder holding it
// inside the bundle or folder scanned ("case.tgz!RDSH01/licensing.reg" →
// RDSH01), else its file name up to the first '-', '_', '.' or space
// ("RDSH01-TermService.reg" → RDSH01), in upper case.
func (c *regConfig) regLabel(name string) string {
	inner := c.inner(name)
	dir, file := path.Split(strings.TrimPrefix(inner, "/"))
	if dir = strings.Trim(dir, "/"); dir != "" {
		return strings.ToUpper(path.Base(dir))
	}
	if i := strings.IndexAny(file, "-_. "); i > 0 {
		file = file[:i]
	}
	return strings.ToUpper(file)
}

// inner is a file's path inside the bundle or folder scanned, else its
// base name.
func (c *regConfig) inner(name string) string {
	inner := ""
	if i := strings.LastIndex(name, "!"); i >= 0 {
		inner = name[i+1:]
	} else {
		for _, root := range c.roots {
			if rel, err := filepath.Rel(root, name); err == nil && !strings.HasPrefix(rel, "..") {
				inner = filepath.ToSlash(rel)
				break
			}
		}
	}
	if inner == "" {
		inner = filepath.Base(name)
	}
	return inner
}

// labels lists the hosts with an export or a state file, sorted.
func (c *regConfig) labels() []string {
	out := make([]string, 0, len(c.files)+len(c.states))
	for l := range c.files {
		out = append(out, l)
	}
	for l := range c.states {
		if c.files[l] == nil {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// config is one host's configuration: its exports, then its live state.
func (c *regConfig) config(label string) regcfg.Config {
	rf := c.files[label]
	if rf == nil {
		rf = regcfg.NewRegFile()
	}
	cfg := regcfg.Read(rf, rf.Names...)
	if s, ok := c.states[label]; ok {
		cfg.ApplyState(s.st, s.name)
	}
	return cfg
}

// engineOptions gives the rules the configuration: one host's exports
// apply to every host (a one-server bundle whose export is named
// "licensing.reg"); with several, each applies to the computer of its name
// only. It returns the labels the rules were given.
func (c *regConfig) engineOptions(o *engine.Options) map[string]bool {
	ls := c.labels()
	ruled := map[string]bool{}
	if len(ls) == 0 {
		return ruled
	}
	o.HostConfig = map[string]map[string]string{}
	for _, l := range ls {
		cfg := c.config(l)
		o.HostConfig[l] = cfg.Flat()
		ruled[l] = true
	}
	if len(ls) == 1 {
		o.Config = o.HostConfig[ls[0]]
	}
	return ruled
}

// report is the configuration for the report, with a note where the rules
// could not use an export: read after the events (stdin), or tied to a
// name no event carries while several hosts had exports.
func (c *regConfig) report(ruled map[string]bool, hosts map[string]bool) map[string]regcfg.Config {
	ls := c.labels()
	if len(ls) == 0 {
		return nil
	}
	out := map[string]regcfg.Config{}
	for _, l := range ls {
		cfg := c.config(l)
		switch {
		case !ruled[l]:
			cfg.Notes = append(cfg.Notes, "read from standard input after the events: shown here, not seen by the rules")
		case len(ls) > 1 && !hosts[l]:
			cfg.Notes = append(cfg.Notes, fmt.Sprintf("no event was logged by a computer named %s: rules read this export only where an event names that host (CfgOf)", l))
		}
		out[l] = cfg
	}
	return out
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// readAll reads the exports of files and folders for a stream, whose
// events come later. A named file that is no export, or an export that
// does not parse, is an error here: a stream has no report to list it in.
func (c *regConfig) readAll(paths []string) error {
	st, _ := source.Walk(paths, source.Options{SkipLogs: true, OnOther: c.take}, func(*evtx.Event) error { return nil })
	for _, name := range sortedKeys(c.done) {
		if c.done[name] != nil {
			return c.done[name]
		}
	}
	for _, p := range paths {
		if _, taken := c.done[p]; !taken && !isDir(p) {
			return fmt.Errorf("%s: not a registry export (.reg as regedit or 'reg export' write it)", p)
		}
	}
	if len(st.Unreadable) > 0 {
		return fmt.Errorf("%s: %s", st.Unreadable[0].File, st.Unreadable[0].Reason)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
