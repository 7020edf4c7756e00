package filter

import (
	"path"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func TestEventType(t *testing.T) {
	cases := []struct {
		pattern, typ string
		want         bool
	}{
		{"entityUpdated", "entityUpdated", true},
		{"entityCreated", "entityUpdated", false},
		{"EntityUpdated", "entityUpdated", false}, // types are case-sensitive
		{"entityUpdate", "entityUpdated", false},
		{"*", "entityUpdated", true},
		{"*", "ingestion.pipeline/failed", true},
		{"entity*", "entityCreated", true},
		{"entity*", "entitySoftDeleted", true},
		{"entity*", "ingestion.started", false},
		{"ingestion.*", "ingestion.pipeline.failed", true}, // '*' crosses dots
		{"ingestion.*", "ingestion.run/failed", true},      // and slashes
		{"ingestion.*", "ingestion", false},
		{"ingestion.*", "entityCreated", false},
		{"*Deleted", "entitySoftDeleted", true},
		{"*Deleted", "entityDeletedLater", false},
		{"*.*.failed", "a.b.failed", true},
		{"*.*.failed", "a.failed", false},
		{"entity?reated", "entityCreated", true},
		{"entity?reated", "entityreated", false},
		{"entity[CU]*", "entityUpdated", true},
		{"entity[CU]*", "entityDeleted", false},
		{"entity[^C]*", "entityCreated", false},
		{"entity[a-z]*", "entitysoft", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{`a\.b`, "a.b", true},
		{"type?", "typeé", true}, // '?' is one rune, not one byte
		{"*??", "€", false},      // so a 3-byte rune is not two runes
		{"[é-ë]x", "êx", true},
	}
	for _, c := range cases {
		ev := Event{Type: c.typ}
		if got := Matches([]models.EventFilter{{EventType: c.pattern}}, ev); got != c.want {
			t.Errorf("eventType %q vs %q = %v, want %v", c.pattern, c.typ, got, c.want)
		}
	}
}

// FuzzGlob checks glob against path.Match wherever they should agree: on
// names without '/', which path.Match treats specially and glob does not.
// path.Match also lets '*' stop inside a multi-byte rune (so "*??" matches
// one 3-byte rune); glob steps by runes, so non-ASCII names are compared
// only against patterns without '*'. Event types are ASCII anyway.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "entityCreated"}, {"entity*", "entityUpdated"}, {"a*b*c", "aXbYbc"},
		{"[a-c]?x", "bzx"}, {`[^\]]*`, "q]"}, {`\*x`, "*x"}, {"*[é]", "aé"}, {"?", "é"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if strings.Contains(name, "/") || !isASCII(name) && strings.Contains(pattern, "*") {
			return
		}
		want, err := path.Match(pattern, name)
		if err != nil {
			return
		}
		if got := glob(pattern, name); got != want {
			t.Fatalf("glob(%q, %q) = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
