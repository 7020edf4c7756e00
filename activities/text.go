package activities

import (
	"strings"
	"unicode/utf8"
)

// storableText keeps a response body printable in both databases:
// PostgreSQL text refuses NUL bytes and invalid UTF-8.
func storableText(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
