package evtx

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonTimeLayout is the time form of `tsdiag events` JSON lines: Windows'
// 100 ns digits, always UTC.
const jsonTimeLayout = "2006-01-02T15:04:05.0000000Z07:00"

// AppendJSON appends ev as one line of `tsdiag events --format jsonl` (the
// keys provider, provider_guid, event_id, qualifiers, level, time,
// record_id, channel, computer, user_sid, data and params, newline
// included). The bytes are those encoding/json writes for that shape with
// HTML escaping off (data's keys sorted), without its reflection: the
// decoder's rendering path writes the same line straight from a record's
// substitution values, and both must agree byte for byte.
func AppendJSON(dst []byte, ev *Event) []byte {
	var keys []string
	if len(ev.Data) > 0 {
		keys = make([]string, 0, len(ev.Data))
		for k := range ev.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
	}
	dst = appendJSONHead(dst, ev.Provider, ev.ProviderGUID, ev.EventID, ev.Qualifiers, ev.Level, ev.TimeCreated,
		ev.RecordID, ev.Channel, ev.Computer, ev.UserSID)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, ev.Data[k])
	}
	dst = append(dst, `},"params":[`...)
	for i, p := range ev.Params {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, p)
	}
	return append(dst, "]}\n"...)
}

// appendJSONHead writes everything up to the opening brace of data.
func appendJSONHead[S []byte | string](dst []byte, provider, guid S, id, qual uint16, level uint8, t time.Time,
	recordID uint64, channel, computer, sid S) []byte {
	dst = append(dst, `{"provider":`...)
	dst = appendJSONString(dst, provider)
	dst = append(dst, `,"provider_guid":`...)
	dst = appendJSONString(dst, guid)
	dst = append(dst, `,"event_id":`...)
	dst = strconv.AppendUint(dst, uint64(id), 10)
	dst = append(dst, `,"qualifiers":`...)
	dst = strconv.AppendUint(dst, uint64(qual), 10)
	dst = append(dst, `,"level":`...)
	dst = strconv.AppendUint(dst, uint64(level), 10)
	dst = append(dst, `,"time":"`...)
	dst = appendWinTime(dst, t.UTC()) // jsonTimeLayout, for UTC
	dst = append(dst, `","record_id":`...)
	dst = strconv.AppendUint(dst, recordID, 10)
	dst = append(dst, `,"channel":`...)
	dst = appendJSONString(dst, channel)
	dst = append(dst, `,"computer":`...)
	dst = appendJSONString(dst, computer)
	dst = append(dst, `,"user_sid":`...)
	dst = appendJSONString(dst, sid)
	return append(dst, `,"data":{`...)
}

const lowerHex = "0123456789abcdef"

// plain8 reports whether 8 bytes need no escaping: none below 0x20, none
// '"' or '\\', none non-ASCII (a word at a time: values are mostly long
// runs of plain text).
func plain8[S []byte | string](s S) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, bs := w^(lo*'"'), w^(lo*'\\')
	return (w|(q-lo)&^q|(bs-lo)&^bs|(w-lo*0x20)&^w)&hi == 0
}

// jsonPlain marks the bytes appendJSONString copies as they are.
var jsonPlain = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendJSONString quotes s exactly as encoding/json does with HTML
// escaping off: \" \\ \b \f \n \r \t, other control characters as \u00XX,
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString[S []byte | string](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(s[i:i+8]) {
			i += 8
			continue
		}
		b := s[i]
		if jsonPlain[b] {
			i++
			continue
		}
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', lowerHex[b>>4], lowerHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', lowerHex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSONUTF16 appends appendJSONString(appendUTF16(b)) in one pass:
// the UTF-8 appendUTF16 writes is always valid, so only ASCII escapes and
// U+2028, U+2029 remain.
func appendJSONUTF16(dst, b []byte) []byte {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	dst = slices.Grow(dst, n+2)
	dst = append(dst, '"')
	for i := 0; i < n; i++ {
		lo, hi := b[2*i], b[2*i+1]
		if hi == 0 && lo < utf8.RuneSelf {
			if jsonPlain[lo] {
				dst = append(dst, lo)
				continue
			}
			switch lo {
			case '\\', '"':
				dst = append(dst, '\\', lo)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', lowerHex[lo>>4], lowerHex[lo&0xF])
			}
			continue
		}
		r := rune(lo) | rune(hi)<<8
		if utf16.IsSurrogate(r) {
			r2 := utf8.RuneError
			if i+1 < n {
				r2 = utf16.DecodeRune(r, rune(le16(b[2*i+2:])))
			}
			if r2 != utf8.RuneError {
				i++
				r = r2
			} else {
				r = utf8.RuneError
			}
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return append(dst, '"')
}
