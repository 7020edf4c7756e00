package filter

import (
	"path"
	"strings"
	"unicode/utf8"
)

// matchType reports whether an eventType pattern matches an event's type.
func matchType(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	if !strings.ContainsAny(pattern, `*?[\`) {
		return false // a literal that is not equal: skip the glob walk
	}
	return glob(pattern, typ)
}

// glob matches with path.Match's syntax (`*`, `?`, `[...]`, `\`) but with
// '/' an ordinary character: event types are names, not paths, and the API
// accepts '/' in them, so `ingestion.*` must match `ingestion.run/failed`.
// Patterns are checked by Validate when a webhook is saved; a malformed one
// that slips through simply fails to match here. It does not allocate.
func glob(pattern, name string) bool {
	px, nx := 0, 0
	// Where to resume after the last '*': that star then swallows one more
	// rune. One resume point is enough because every '*' matches anything.
	starPx, starNx := -1, 0
	for px < len(pattern) || nx < len(name) {
		if px < len(pattern) {
			switch pattern[px] {
			case '*':
				starPx, starNx = px, nx
				px++
				continue
			case '?':
				if nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					px, nx = px+1, nx+w
					continue
				}
			case '[':
				end := classEnd(pattern, px)
				if end > 0 && nx < len(name) {
					_, w := utf8.DecodeRuneInString(name[nx:])
					// A class matches exactly one rune, so path.Match on
					// that rune alone is the reference implementation.
					if ok, err := path.Match(pattern[px:end], name[nx:nx+w]); ok && err == nil {
						px, nx = end, nx+w
						continue
					}
				}
			case '\\':
				if px+1 < len(pattern) && nx < len(name) && pattern[px+1] == name[nx] {
					px, nx = px+2, nx+1
					continue
				}
			default:
				if nx < len(name) && pattern[px] == name[nx] {
					px, nx = px+1, nx+1
					continue
				}
			}
		}
		if starPx < 0 || starNx >= len(name) {
			return false
		}
		_, w := utf8.DecodeRuneInString(name[starNx:])
		starNx += w
		px, nx = starPx+1, starNx
	}
	return true
}

// classEnd returns the index just past the `]` closing the class that
// starts at pattern[start], or -1 when it is unterminated.
func classEnd(pattern string, start int) int {
	i := start + 1
	if i < len(pattern) && pattern[i] == '^' {
		i++
	}
	for first := true; i < len(pattern); first = false {
		switch {
		case pattern[i] == '\\':
			i += 2
		case pattern[i] == ']' && !first:
			return i + 1
		default:
			i++
		}
	}
	return -1
}
