package activities

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

const masked = "********"

// MaskHeaders flattens request headers for the attempt log, hiding values
// that carry credentials: the log is readable by every operator, the
// credentials are not theirs to see.
func MaskHeaders(h http.Header) map[string]string {
	out := flattenHeaders(h)
	for k := range out {
		if isCredentialHeader(k) {
			out[k] = masked
		}
	}
	return out
}

func isCredentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, word := range []string{"token", "secret", "password", "api-key", "apikey", "auth", "session"} {
		if strings.Contains(n, word) {
			return true
		}
	}
	return false
}

func flattenHeaders(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// storableText keeps a response body printable in both databases:
// PostgreSQL text refuses NUL bytes and invalid UTF-8.
func storableText(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
