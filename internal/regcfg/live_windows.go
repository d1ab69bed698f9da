//go:build windows

package regcfg

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// Live reads the local machine's registry.
type Live struct{}

const hklm = `hkey_local_machine\`

func open(key string) (registry.Key, error) {
	c := CanonicalKey(key)
	if !strings.HasPrefix(c, hklm) {
		return 0, errors.New("only HKEY_LOCAL_MACHINE is read")
	}
	sub := strings.TrimLeft(key, `\`)
	sub = sub[strings.IndexByte(sub, '\\')+1:]
	return registry.OpenKey(registry.LOCAL_MACHINE, sub, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS)
}

// Value reads one raw value.
func (Live) Value(key, name string) (Value, bool) {
	k, err := open(key)
	if err != nil {
		return Value{}, false
	}
	defer k.Close()
	n, typ, err := k.GetValue(name, nil)
	if err != nil && !errors.Is(err, registry.ErrShortBuffer) {
		return Value{}, false
	}
	buf := make([]byte, n)
	n, typ, err = k.GetValue(name, buf)
	if err != nil {
		return Value{}, false
	}
	return Value{Type: int(typ), Data: buf[:n]}, true
}

// KeyExists reports whether key can be opened (a key we may not read, such
// as the ACL-protected GracePeriod, still exists when access is denied).
func (Live) KeyExists(key string) bool {
	k, err := open(key)
	if err == nil {
		k.Close()
		return true
	}
	return errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// SubKeys lists key's sub-keys.
func (Live) SubKeys(key string) []string {
	k, err := open(key)
	if err != nil {
		return nil
	}
	defer k.Close()
	names, _ := k.ReadSubKeyNames(-1)
	return names
}

// written is key's last write time.
func written(key string) *time.Time {
	k, err := open(key)
	if err != nil {
		return nil
	}
	defer k.Close()
	st, err := k.Stat()
	if err != nil {
		return nil
	}
	t := st.ModTime().UTC()
	return &t
}

// ReadLive reads this machine's licensing configuration and asks WMI for
// the grace days left (skipped after timeout; errors become notes).
func ReadLive(ctx context.Context, timeout time.Duration) Config {
	c := Read(Live{}, "registry")
	if c.GracePeriodKey {
		c.GracePeriodWritten = written(KeyGracePeriod)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	readDomain(ctx, &c)
	out, err := exec.CommandContext(ctx, GraceCommand[0], GraceCommand[1:]...).Output()
	if err != nil {
		c.Notes = append(c.Notes, "grace days: "+err.Error())
		return c
	}
	n, err := ParseGraceDays(string(out))
	if err != nil {
		c.Notes = append(c.Notes, err.Error())
		return c
	}
	c.SetGraceDays(n, "WMI Win32_TerminalServiceSetting.GetGracePeriodDays")
	return c
}

// readDomain asks WMI whether the machine is joined to a domain; a failure
// leaves PartOfDomain unknown and becomes a note.
func readDomain(ctx context.Context, c *Config) {
	out, err := exec.CommandContext(ctx, DomainCommand[0], DomainCommand[1:]...).Output()
	if err == nil {
		var in bool
		if in, err = ParsePartOfDomain(string(out)); err == nil {
			c.PartOfDomain = &in
			return
		}
	}
	c.Notes = append(c.Notes, "domain membership: "+err.Error())
}
