package input

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PostgreSQL's numeric, which jsonb stores numbers as, holds at most this
// many digits before the decimal point and after it ("value overflows
// numeric format" beyond).
const (
	maxIntegerDigits  = 131072
	maxFractionDigits = 16383
	// maxDepth is encoding/json's own nesting limit.
	maxDepth = 10000
)

// JSON checks a JSON text for what PostgreSQL (jsonb, text) and SQLite
// both store, wherever it sits: strings must be valid UTF-8, without NUL
// (raw or \u0000) and without unpaired UTF-16 surrogate escapes (\ud800
// alone), and numbers must fit PostgreSQL's numeric. It reports the first
// problem as an *Error naming its path from the document's root (with
// prefix before it, when not empty). A text that is not JSON at all is
// left to the decoder, which says why: JSON returns nil for it.
func JSON(prefix string, b []byte) error {
	s := scanner{b: b, path: []string{prefix}}
	s.space()
	if err := s.value(0); err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
	}
	return nil
}

// syntaxError stops the scan of a text that is not JSON.
type syntaxError struct{}

func (syntaxError) Error() string { return "not JSON" }

type scanner struct {
	b    []byte
	i    int
	path []string
}

func (s *scanner) at() string {
	p := strings.Join(s.path, "")
	p = strings.TrimPrefix(p, ".")
	if p == "" {
		return "request body"
	}
	return p
}

func (s *scanner) fail(format string, args ...any) error {
	return &Error{Path: s.at(), Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) || depth > maxDepth {
		return syntaxError{}
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth)
	case c == '[':
		return s.array(depth)
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+5)]), lit) {
				s.i += len(lit)
				return nil
			}
		}
		return syntaxError{}
	}
}

func (s *scanner) object(depth int) error {
	s.i++ // {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return syntaxError{}
		}
		key, err := s.str()
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Msg = "a key: " + e.Msg
			}
			return err
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return syntaxError{}
		}
		s.i++
		s.space()
		s.path = append(s.path, "."+key)
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.i >= len(s.b) {
			return syntaxError{}
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return nil
		default:
			return syntaxError{}
		}
	}
}

func (s *scanner) array(depth int) error {
	s.i++ // [
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for n := 0; ; n++ {
		s.path = append(s.path, "["+strconv.Itoa(n)+"]")
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		s.space()
		if s.i >= len(s.b) {
			return syntaxError{}
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			return nil
		default:
			return syntaxError{}
		}
	}
}

// str scans a string and returns its text as it appears (escapes kept),
// for paths in messages.
func (s *scanner) str() (string, error) {
	s.i++ // "
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := string(s.b[start:s.i])
			s.i++
			return raw, nil
		case c < 0x20:
			if c == 0 {
				return "", s.fail("NUL is not allowed in text")
			}
			return "", syntaxError{} // the decoder names control characters
		case c == '\\':
			if err := s.escape(); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return "", s.fail("not valid UTF-8 (byte 0x%02x)", c)
			}
			s.i += size
		}
	}
	return "", syntaxError{}
}

// escape scans one backslash escape; \u escapes must not be NUL and
// surrogates must come in pairs.
func (s *scanner) escape() error {
	if s.i+1 >= len(s.b) {
		return syntaxError{}
	}
	if s.b[s.i+1] != 'u' {
		s.i += 2
		return nil
	}
	r, ok := s.hex4(s.i + 2)
	if !ok {
		return syntaxError{}
	}
	s.i += 6
	switch {
	case r == 0:
		return s.fail("NUL (\\u0000) is not allowed in text")
	case r >= 0xDC00 && r <= 0xDFFF:
		return s.fail("\\u%04x is a lone UTF-16 low surrogate; PostgreSQL cannot store it", r)
	case r >= 0xD800 && r <= 0xDBFF:
		if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
			if lo, ok := s.hex4(s.i + 2); ok && lo >= 0xDC00 && lo <= 0xDFFF {
				s.i += 6
				return nil
			}
		}
		return s.fail("\\u%04x is a UTF-16 high surrogate without its low half; PostgreSQL cannot store it", r)
	}
	return nil
}

func (s *scanner) hex4(at int) (rune, bool) {
	if at+4 > len(s.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s.b[at:at+4]), 16, 32)
	return rune(n), err == nil
}

// number scans a number and checks that PostgreSQL's numeric holds it.
func (s *scanner) number() error {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	intStart := s.i
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
	intPart := string(s.b[intStart:s.i])
	frac := ""
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		fs := s.i
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
		frac = string(s.b[fs:s.i])
	}
	exp := int64(0)
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		es := s.i
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		ds := s.i
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
		digits := strings.TrimLeft(string(s.b[ds:s.i]), "0")
		if s.i == ds {
			return syntaxError{}
		}
		if len(digits) > 9 {
			return s.outOfRange(start)
		}
		exp, _ = strconv.ParseInt(string(s.b[es:s.i]), 10, 64)
	}
	if intPart == "" {
		return syntaxError{}
	}
	// Digits after the decimal point once the exponent is applied.
	if scale := int64(len(frac)) - exp; scale > maxFractionDigits {
		return s.outOfRange(start)
	}
	// The leading significant digit's power of ten; none for zero.
	lead, zero := int64(0), true
	if t := strings.TrimLeft(intPart, "0"); t != "" {
		lead, zero = int64(len(t)-1), false
	} else if k := strings.IndexFunc(frac, func(r rune) bool { return r != '0' }); k >= 0 {
		lead, zero = -int64(k+1), false
	}
	if !zero && lead+exp >= maxIntegerDigits {
		return s.outOfRange(start)
	}
	return nil
}

func (s *scanner) outOfRange(start int) error {
	lit := string(s.b[start:min(s.i, start+40)])
	return s.fail("the number %s is out of range (at most %d digits before the decimal point and %d after)",
		lit, maxIntegerDigits, maxFractionDigits)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
