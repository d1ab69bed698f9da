package scenario

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tsdiag/tsdiag/evtx/writer"
)

// DefaultStart is the start of every timeline unless the caller picks one.
var DefaultStart = time.Date(2024, 1, 8, 0, 0, 0, 0, time.UTC)

// DateLayout is how the grace-period messages name a date (en-US short
// date, as %1 of 1009/1129/50281 carries it).
const DateLayout = "1/2/2006"

var offsetRE = regexp.MustCompile(`^(?:(\d+)d)?(?:(\d{1,2}):(\d{2})(?::(\d{2}))?)?(.*)$`)

// parseOffset reads "13d", "13d09:14", "09:14:30", "36h", "2d4h" or "".
func parseOffset(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	m := offsetRE.FindStringSubmatch(s)
	var d time.Duration
	if m[1] != "" {
		n, _ := strconv.Atoi(m[1])
		d += time.Duration(n) * 24 * time.Hour
	}
	if m[2] != "" {
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		sec, _ := strconv.Atoi(m[4] + "0")
		d += time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec/10)*time.Second
	}
	if m[5] != "" {
		rest, err := time.ParseDuration(m[5])
		if err != nil {
			return 0, fmt.Errorf("bad time offset %q (want e.g. 13d09:14, 2d, 36h)", s)
		}
		d += rest
	}
	return d, nil
}

var placeholderRE = regexp.MustCompile(`\{([a-z]+)(?::([^}]*))?\}`)

func checkPlaceholders(p string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(p, -1) {
		switch m[1] {
		case "client", "user", "host", "n":
		case "date":
			if _, err := parseOffset(m[2]); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown placeholder {%s} in %q", m[1], p)
		}
	}
	return nil
}

// occurrence is what a placeholder can refer to.
type occurrence struct {
	start  time.Time
	n      int
	host   string
	client string
	user   string
}

func (o occurrence) expand(p string) string {
	return placeholderRE.ReplaceAllStringFunc(p, func(ph string) string {
		m := placeholderRE.FindStringSubmatch(ph)
		switch m[1] {
		case "client":
			return o.client
		case "user":
			return o.user
		case "host":
			return o.host
		case "n":
			return strconv.Itoa(o.n)
		}
		d, _ := parseOffset(m[2])
		return o.start.Add(d).Format(DateLayout)
	})
}

// Generate returns the whole timeline for seed, with noiseBytes of extra
// background records on top of the scenario's own noise. For large files
// use Stream.
func (s Scenario) Generate(seed int64, start time.Time, noiseBytes int64) []writer.Record {
	var out []writer.Record
	_ = s.Stream(seed, start, noiseBytes, func(r writer.Record) error {
		out = append(out, r)
		return nil
	})
	return out
}

// Stream emits the timeline in time order; noise is produced as it is
// emitted, so memory does not grow with noiseBytes.
func (s Scenario) Stream(seed int64, start time.Time, noiseBytes int64, emit func(writer.Record) error) error {
	start = start.UTC()
	events := s.timeline(seed, start)
	noise := newNoise(s, seed, start, noiseBytes)
	i := 0
	for {
		n, ok := noise.peek()
		if i < len(events) && (!ok || !events[i].TimeCreated.After(n.TimeCreated)) {
			if err := emit(events[i]); err != nil {
				return err
			}
			i++
			continue
		}
		if !ok {
			return nil
		}
		if err := emit(noise.next()); err != nil {
			return err
		}
	}
}

// timeline expands the scenario's events, sorted by time (stable, so
// simultaneous events keep file order).
func (s Scenario) timeline(seed int64, start time.Time) []writer.Record {
	var out []writer.Record
	for i, e := range s.Events {
		rng := rand.New(rand.NewSource(seed ^ int64(hash(s.ID, strconv.Itoa(i)))))
		out = append(out, e.expand(s, rng, start)...)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].TimeCreated.Before(out[b].TimeCreated) })
	return out
}

func (e Event) expand(s Scenario, rng *rand.Rand, start time.Time) []writer.Record {
	at, _ := parseOffset(e.At)
	every, _ := parseOffset(e.Every)
	jitter, _ := parseOffset(e.Jitter)
	clients := pick(e.Clients, s.Noise.Clients)
	users := pick(e.Users, s.Noise.Users)
	count := max(e.Count, 1)
	out := make([]writer.Record, 0, count)
	for n := 0; n < count; n++ {
		t := start.Add(at + time.Duration(n)*every)
		if jitter > 0 {
			t = t.Add(time.Duration(rng.Int63n(int64(jitter))))
		}
		o := occurrence{start: start, n: n + 1, host: e.Host, client: cycle(clients, n), user: cycle(users, n)}
		out = append(out, e.record(t, o))
	}
	return out
}

func pick(own, fallback []string) []string {
	if len(own) > 0 {
		return own
	}
	return fallback
}

func cycle(list []string, n int) string {
	if len(list) == 0 {
		return ""
	}
	return list[n%len(list)]
}

func (e Event) record(t time.Time, o occurrence) writer.Record {
	src := sources[e.Source]
	params := make([]string, len(e.Params))
	for i, p := range e.Params {
		params[i] = o.expand(p)
	}
	r := newRecord(src, e.ID, e.Level, o.host, t)
	if e.Channel != "" {
		r.Channel = e.Channel
	}
	if e.Qualifiers != nil {
		r.Qualifiers = *e.Qualifiers
	}
	var names []string
	if len(e.Names) > 0 {
		names = e.Names
	}
	r.Payload = src.payload(e.ID, params, names)
	return r
}

// newRecord fills the System part the way src writes it on host.
func newRecord(src source, id uint16, level uint8, host string, t time.Time) writer.Record {
	if level == 0 {
		level = 4
	}
	pid := 400 + hash(host, src.provider)%3600
	return writer.Record{
		Provider: src.provider, ProviderGUID: src.guid, EventSourceName: src.sourceName,
		EventID: id, Qualifiers: src.qualifiers, Level: level, Keywords: src.keywords,
		TimeCreated: t, ProcessID: pid &^ 3, ThreadID: (pid*7 + uint32(id)) &^ 3,
		Channel: src.channel(id), Computer: host, UserSID: src.user,
	}
}

func hash(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}
