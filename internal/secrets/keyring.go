package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

// maxKeyIDLen keeps ids short because every stored value repeats its id.
const maxKeyIDLen = 32

// Keyring holds the keys that encrypt and decrypt stored secrets. It is
// immutable and safe for concurrent use; copies share the same keys.
//
// Its methods have value receivers so that printing a Keyring, or a struct
// holding one, goes through String and Format whether or not it is a
// pointer.
type Keyring struct {
	ids []string // ids[0] is the current key
	// aead is a function rather than a map because fmt can still walk a
	// Keyring by reflection (through an unexported field of another
	// struct), and for verbs such as %s it prints whatever a pointer
	// points to, here the AES key schedule. A function prints as an
	// address under every verb.
	aead keyLookup
}

// keyLookup returns the cipher for a key id, or false if there is none.
type keyLookup func(id string) (cipher.AEAD, bool)

// ParseKeyring parses a comma-separated list of keyID:base64key entries,
// current key first. Keys are standard or URL-safe base64, padded or not,
// of exactly KeySize bytes. Errors never contain key text, which may be a
// real key with a typo; the caller adds the name of the variable.
func ParseKeyring(spec string) (*Keyring, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("no keys: expected keyID:base64key entries, comma-separated, current key first")
	}
	entries := strings.Split(spec, ",")
	ids := make([]string, 0, len(entries))
	aeads := make(map[string]cipher.AEAD, len(entries))
	keys := make([][]byte, 0, len(entries))
	for i, entry := range entries {
		n := i + 1
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty (stray comma?)", n)
		}
		id, text, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: expected keyID:base64key, found no colon", n)
		}
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		// The id is not quoted: with the halves swapped it would be the key.
		if !validKeyID(id) {
			return nil, fmt.Errorf("entry %d: key id must be 1-%d characters from A-Z a-z 0-9 _ - (got %d characters)", n, maxKeyIDLen, len(id))
		}
		if _, dup := aeads[id]; dup {
			return nil, fmt.Errorf("entry %d: key id %q appears twice", n, id)
		}
		key, err := decodeKey(text)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%q): %w", n, id, err)
		}
		// Reusing key bytes under a new id looks like a rotation but is not one.
		for j, prev := range keys {
			if subtle.ConstantTimeCompare(prev, key) == 1 {
				return nil, fmt.Errorf("entry %d (%q): same key as entry %d (%q); a new key id needs new key bytes", n, id, j+1, ids[j])
			}
		}
		aead, err := newAEAD(key)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%q): %w", n, id, err)
		}
		keys = append(keys, key)
		ids = append(ids, id)
		aeads[id] = aead
	}
	lookup := func(id string) (cipher.AEAD, bool) {
		aead, ok := aeads[id]
		return aead, ok
	}
	return &Keyring{ids: ids, aead: lookup}, nil
}

// aeadFor returns the AEAD for a key id; the zero Keyring has none.
func (k Keyring) aeadFor(id string) (cipher.AEAD, bool) {
	if k.aead == nil {
		return nil, false
	}
	return k.aead(id)
}

// CurrentID is the id of the key that encrypts.
func (k Keyring) CurrentID() string {
	if len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// IDs lists every key id, current first.
func (k Keyring) IDs() []string {
	return slices.Clone(k.ids)
}

// validKeyID reports whether id may name a key: 1 to 32 characters from
// A-Z a-z 0-9 _ -. None of them is ':' or needs quoting in the stored format.
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > maxKeyIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// decodeKey accepts every common base64 flavour: operators paste keys from
// openssl (standard, padded) as often as from tools that emit URL-safe text.
// Strict decoding rejects text no encoder produces.
func decodeKey(text string) ([]byte, error) {
	encodings := [...]*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	}
	for _, enc := range encodings {
		key, err := enc.Strict().DecodeString(text)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("key must be %d bytes of base64 (got %d bytes)%s", KeySize, len(key), hexHint(text))
		}
		return key, nil
	}
	return nil, fmt.Errorf("key is not valid base64 (expected %d bytes as standard or URL-safe base64)", KeySize)
}

// hexHint explains the commonest wrong length: 64 hex digits are also
// valid base64, decoding to 48 bytes.
func hexHint(text string) string {
	if len(text) != 2*KeySize || strings.Trim(text, "0123456789abcdefABCDEF") != "" {
		return ""
	}
	return "; it looks like hex: encode the 32 raw bytes as base64 instead, e.g. openssl rand -base64 32"
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("create AES-GCM: %w", err)
	}
	return aead, nil
}
