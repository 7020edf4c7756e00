package secrets

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testKey is a fixed, random-looking key per name, so failures reproduce.
func testKey(name string) []byte {
	sum := sha256.Sum256([]byte("webhookd secrets test key " + name))
	return sum[:]
}

// testEntry is "id:" and the standard base64 of testKey(id).
func testEntry(id string) string {
	return id + ":" + base64.StdEncoding.EncodeToString(testKey(id))
}

func mustParse(t testing.TB, spec string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(spec)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

// keyForms are the ways key bytes could show up in text: raw, hex, every
// base64 flavour, fmt's rendering of a byte slice, and the first AES
// round-key word (which for AES-256 is the start of the key) in decimal.
func keyForms(key []byte) []string {
	bytesText := fmt.Sprint(key)
	return []string{
		string(key),
		hex.EncodeToString(key),
		strings.ToUpper(hex.EncodeToString(key)),
		base64.StdEncoding.EncodeToString(key),
		base64.RawStdEncoding.EncodeToString(key),
		base64.URLEncoding.EncodeToString(key),
		base64.RawURLEncoding.EncodeToString(key),
		bytesText[1 : len(bytesText)-1],
		fmt.Sprint(binary.BigEndian.Uint32(key)),
		fmt.Sprint(binary.LittleEndian.Uint32(key)),
	}
}

func assertNoKey(t *testing.T, what, text string, keys ...[]byte) {
	t.Helper()
	for _, key := range keys {
		for _, form := range keyForms(key) {
			if strings.Contains(text, form) {
				t.Errorf("%s contains key material %q:\n%s", what, form, text)
			}
		}
	}
}

func TestParseKeyringAcceptsEveryBase64Flavour(t *testing.T) {
	key := testKey("k1")
	for name, enc := range map[string]*base64.Encoding{
		"standard padded": base64.StdEncoding,
		"standard raw":    base64.RawStdEncoding,
		"url-safe padded": base64.URLEncoding,
		"url-safe raw":    base64.RawURLEncoding,
	} {
		t.Run(name, func(t *testing.T) {
			k := mustParse(t, "k1:"+enc.EncodeToString(key))
			// The key must be the one written, not merely some 32 bytes.
			want := mustParse(t, testEntry("k1"))
			stored, err := k.Encrypt("s", "aad")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := want.Decrypt(stored, "aad"); err != nil {
				t.Errorf("value encrypted with the %s key does not decrypt with the same key in standard base64: %v", name, err)
			}
		})
	}
}

func TestParseKeyringOrderAndWhitespace(t *testing.T) {
	k := mustParse(t, " k2:"+base64.StdEncoding.EncodeToString(testKey("k2"))+" , k1 : "+base64.StdEncoding.EncodeToString(testKey("k1"))+"\n")
	if got := k.CurrentID(); got != "k2" {
		t.Errorf("CurrentID() = %q, want k2", got)
	}
	if got := k.IDs(); !slices.Equal(got, []string{"k2", "k1"}) {
		t.Errorf("IDs() = %q, want [k2 k1]", got)
	}
	ids := k.IDs()
	ids[0] = "changed"
	if k.CurrentID() != "k2" {
		t.Error("changing the slice from IDs changed the keyring")
	}
}

func TestParseKeyringAcceptsEveryValidIDCharacter(t *testing.T) {
	for _, id := range []string{"a", "Z", "0", "_", "-", "dev20261123", "prod-2026_11-rotation-aBc", strings.Repeat("x", 32)} {
		if _, err := ParseKeyring(testEntry(id)); err != nil {
			t.Errorf("id %q: %v", id, err)
		}
	}
}

func TestParseKeyringErrors(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(testKey("k1"))
	k2 := base64.StdEncoding.EncodeToString(testKey("k2"))
	short := base64.StdEncoding.EncodeToString(testKey("k1")[:16])
	long := base64.StdEncoding.EncodeToString(append(testKey("k1"), 0))
	hexKey := hex.EncodeToString(testKey("k1"))
	// Valid unpadded base64 of 32 zero-ish bytes if the alphabets agreed;
	// '-' is URL-safe only and '/' standard only.
	mixed := strings.Repeat("A", 20) + "-" + strings.Repeat("A", 20) + "/A"
	// 43 characters carry 258 bits; the last 2 must be zero. "B" sets one.
	dirtyPadding := strings.Repeat("A", 42) + "B"
	tests := []struct {
		name string
		spec string
		want string // the whole message
	}{
		{"empty", "", "no keys: expected keyID:base64key entries, comma-separated, current key first"},
		{"blank", " \t\n", "no keys: expected keyID:base64key entries, comma-separated, current key first"},
		{"missing colon", k1, "entry 1: expected keyID:base64key, found no colon"},
		{"missing colon in second entry", "k2:" + k2 + "," + k1, "entry 2: expected keyID:base64key, found no colon"},
		{"empty entry", "k2:" + k2 + ",,k1:" + k1, "entry 2 is empty (stray comma?)"},
		{"trailing comma", "k2:" + k2 + ",", "entry 2 is empty (stray comma?)"},
		{"empty id", ":" + k1, "entry 1: key id must be 1-32 characters from A-Z a-z 0-9 _ - (got 0 characters)"},
		{"id with space", "key one:" + k1, "entry 1: key id must be 1-32 characters from A-Z a-z 0-9 _ - (got 7 characters)"},
		{"id with dot", "k.1:" + k1, "entry 1: key id must be 1-32 characters from A-Z a-z 0-9 _ - (got 3 characters)"},
		{"id too long", strings.Repeat("k", 33) + ":" + k1, "entry 1: key id must be 1-32 characters from A-Z a-z 0-9 _ - (got 33 characters)"},
		{"halves swapped", k1 + ":k1", "entry 1: key id must be 1-32 characters from A-Z a-z 0-9 _ - (got 44 characters)"},
		{"duplicate id", "k1:" + k1 + ",k1:" + k2, `entry 2: key id "k1" appears twice`},
		{"same key bytes under two ids", "k2:" + k1 + ",k1:" + k1, `entry 2 ("k1"): same key as entry 1 ("k2"); a new key id needs new key bytes`},
		{"same key bytes in another flavour", "k2:" + k1 + ",k1:" + base64.RawURLEncoding.EncodeToString(testKey("k1")), `entry 2 ("k1"): same key as entry 1 ("k2"); a new key id needs new key bytes`},
		{"16-byte key", "k1:" + short, `entry 1 ("k1"): key must be 32 bytes of base64 (got 16 bytes)`},
		{"33-byte key", "k1:" + long, `entry 1 ("k1"): key must be 32 bytes of base64 (got 33 bytes)`},
		{"hex key", "k1:" + hexKey, `entry 1 ("k1"): key must be 32 bytes of base64 (got 48 bytes); it looks like hex: encode the 32 raw bytes as base64 instead, e.g. openssl rand -base64 32`},
		{"empty key", "k1:", `entry 1 ("k1"): key must be 32 bytes of base64 (got 0 bytes)`},
		{"bad base64 character", "k1:" + k1[:10] + "*" + k1[11:], `entry 1 ("k1"): key is not valid base64 (expected 32 bytes as standard or URL-safe base64)`},
		{"mixed alphabets", "k1:" + mixed, `entry 1 ("k1"): key is not valid base64 (expected 32 bytes as standard or URL-safe base64)`},
		{"non-zero padding bits", "k1:" + dirtyPadding, `entry 1 ("k1"): key is not valid base64 (expected 32 bytes as standard or URL-safe base64)`},
		{"second colon", "k1:" + k1[:20] + ":" + k1[20:], `entry 1 ("k1"): key is not valid base64 (expected 32 bytes as standard or URL-safe base64)`},
		{"bad key after a good one", "k2:" + k2 + ",k1:" + short, `entry 2 ("k1"): key must be 32 bytes of base64 (got 16 bytes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeyring(tt.spec)
			if err == nil {
				t.Fatalf("ParseKeyring accepted %q: %v", tt.spec, k)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			assertNoKey(t, "error", err.Error(), testKey("k1"), testKey("k2"))
			for _, text := range []string{k1, k2, short, long, hexKey, mixed, dirtyPadding, k1[:20], k1[20:]} {
				if strings.Contains(err.Error(), text) {
					t.Errorf("error %q contains key text %q", err, text)
				}
			}
		})
	}
}

// The "mixed alphabets" case above must fail for mixing, not for its bytes.
func TestParseKeyringMixedAlphabetCaseIsOtherwiseValid(t *testing.T) {
	for _, text := range []string{
		strings.Repeat("A", 20) + "+" + strings.Repeat("A", 20) + "/A",
		strings.Repeat("A", 20) + "-" + strings.Repeat("A", 20) + "_A",
	} {
		if _, err := ParseKeyring("k1:" + text); err != nil {
			t.Errorf("ParseKeyring(k1:%s): %v", text, err)
		}
	}
}
