// Package tomlcheck bounds a TOML document before a recursive parser sees
// it. BurntSushi/toml descends once per nested array or inline table, so a
// file of a million '[' overflows the goroutine stack (a fatal error no
// recover can catch) or takes seconds and hundreds of megabytes to refuse.
// Check reads the text once, in constant memory, and refuses what no real
// rule pack, suppression file or scenario needs.
package tomlcheck

import "fmt"

// Error is a refusal at a line (0 when it concerns the whole file).
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Limits for user-supplied TOML. The built-in files nest at most 4 deep
// and the largest is under 64 KiB.
const (
	MaxBytes = 8 << 20
	MaxDepth = 32
)

// Check returns an error naming the line where data nests arrays or inline
// tables deeper than MaxDepth, or when data is larger than MaxBytes. It
// does not validate TOML: the parser does that once the input is bounded.
func Check(data []byte) error {
	if len(data) > MaxBytes {
		return &Error{Msg: fmt.Sprintf("%d bytes, more than the %d a TOML file may have", len(data), MaxBytes)}
	}
	s := scanner{data: data, line: 1}
	return s.run()
}

type scanner struct {
	data  []byte
	i     int
	line  int
	depth int
	// inValue is true after '=' on a line, or anywhere inside a value that
	// spans lines: there '[' opens an array; elsewhere it is a table header.
	inValue bool
}

func (s *scanner) run() error {
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '\n':
			s.line++
			if s.depth == 0 {
				s.inValue = false
			}
		case c == '#':
			s.skipComment()
			continue
		case c == '"' || c == '\'':
			if err := s.skipString(c); err != nil {
				return err
			}
			continue
		case c == '=':
			s.inValue = true
		case (c == '[' && s.inValue) || c == '{':
			s.depth++
			if s.depth > MaxDepth {
				return &Error{Line: s.line, Msg: fmt.Sprintf("arrays and inline tables nested more than %d deep", MaxDepth)}
			}
		case (c == ']' || c == '}') && s.depth > 0:
			s.depth--
		}
		s.i++
	}
	return nil
}

func (s *scanner) skipComment() {
	for s.i < len(s.data) && s.data[s.i] != '\n' {
		s.i++
	}
}

// skipString moves past a basic ("…", """…""") or literal ('…', ”'…”')
// string, counting the lines a multi-line one spans.
func (s *scanner) skipString(q byte) error {
	start := s.line
	if s.i+2 < len(s.data) && s.data[s.i+1] == q && s.data[s.i+2] == q {
		s.i += 3
		for s.i < len(s.data) {
			switch c := s.data[s.i]; {
			case c == '\\' && q == '"':
				s.i++
				if s.i < len(s.data) && s.data[s.i] == '\n' {
					s.line++
				}
			case c == '\n':
				s.line++
			case c == q && s.i+2 < len(s.data) && s.data[s.i+1] == q && s.data[s.i+2] == q:
				s.i += 3
				// A closing delimiter may be followed by up to two more quotes
				// that belong to the string.
				for n := 0; n < 2 && s.i < len(s.data) && s.data[s.i] == q; n++ {
					s.i++
				}
				return nil
			}
			s.i++
		}
		return &Error{Line: start, Msg: "multi-line string never closed"}
	}
	s.i++
	for s.i < len(s.data) {
		switch c := s.data[s.i]; {
		case c == '\\' && q == '"':
			s.i++
		case c == q:
			s.i++
			return nil
		case c == '\n':
			// The parser reports the unterminated string with its own message.
			return nil
		}
		s.i++
	}
	return nil
}
