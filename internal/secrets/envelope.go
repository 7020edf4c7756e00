package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The stored format is prefix + version + ":" + key id + ":" + payload; see
// the package comment.
const (
	prefix  = "enc:"
	version = "v1"
	// minSealedLen is a 96-bit nonce and a 128-bit tag around at least
	// one byte of ciphertext; empty plaintexts are never sealed.
	minSealedLen = 12 + 16 + 1
)

// payloadEncoding is strict and unpadded so that each payload has exactly
// one spelling: a changed character is a changed ciphertext, never an
// equivalent one.
var payloadEncoding = base64.RawURLEncoding.Strict()

var (
	// ErrNotEncrypted is returned by Decrypt for a non-empty value without
	// the "enc:" prefix: legacy plaintext, or a column that was never
	// encrypted. The caller decides whether to accept it.
	ErrNotEncrypted = errors.New("value is not encrypted")
	// ErrUnknownKey is returned when a value names a key id that is not in
	// the keyring.
	ErrUnknownKey = errors.New("unknown key id")
)

// Encrypt seals plaintext under the current key, bound to aad: the same aad
// must be passed to Decrypt. Use a string naming the value's place, such as
// "webhook/<id>/secretKey". An empty plaintext is returned as is.
func (k Keyring) Encrypt(plaintext, aad string) (string, error) {
	if plaintext == "" {
		return "", nil
	}
	id := k.CurrentID()
	aead, ok := k.aeadFor(id)
	if !ok {
		return "", errors.New("encrypt: the keyring has no keys")
	}
	sealed := aead.Seal(nil, nil, []byte(plaintext), additionalData(id, aad))
	return header(id) + payloadEncoding.EncodeToString(sealed), nil
}

// Decrypt opens a value made by Encrypt with the same aad, under whichever
// key of the keyring it names. An empty value is returned as is. Errors
// never contain the value, the plaintext or key material.
func (k Keyring) Decrypt(stored, aad string) (string, error) {
	if stored == "" {
		return "", nil
	}
	id, sealed, err := parseEnvelope(stored)
	if err != nil {
		return "", err
	}
	aead, ok := k.aeadFor(id)
	if !ok {
		return "", fmt.Errorf("%w %q (the keyring has %s): add the old key to the keyring to read it",
			ErrUnknownKey, id, strings.Join(k.ids, ", "))
	}
	plaintext, err := aead.Open(nil, nil, sealed, additionalData(id, aad))
	if err != nil {
		return "", fmt.Errorf("encrypted value does not authenticate under key %q: it was altered, copied from another field or row, or the key bytes of %q changed", id, id)
	}
	return string(plaintext), nil
}

// Reencrypt returns stored sealed under the current key. A value already
// under the current key is checked and returned unchanged, so callers can
// skip the write when the result equals the input. Non-empty plaintext
// yields ErrNotEncrypted rather than being encrypted silently.
func (k Keyring) Reencrypt(stored, aad string) (string, error) {
	plaintext, err := k.Decrypt(stored, aad)
	if err != nil {
		return "", err
	}
	if !k.NeedsRotation(stored) {
		return stored, nil
	}
	return k.Encrypt(plaintext, aad)
}

// NeedsRotation reports whether stored should be rewritten: it is
// encrypted under a key other than the current one, or it is non-empty and
// not encrypted (or malformed).
func (k Keyring) NeedsRotation(stored string) bool {
	if stored == "" {
		return false
	}
	id, ok := KeyIDOf(stored)
	return !ok || id != k.CurrentID()
}

// IsEncrypted reports whether s is in the stored format. It checks the
// syntax only; Decrypt authenticates.
func IsEncrypted(s string) bool {
	_, _, err := parseEnvelope(s)
	return err == nil
}

// KeyIDOf returns the id of the key that stored was encrypted under, and
// false when stored is not in the stored format.
func KeyIDOf(stored string) (string, bool) {
	id, _, err := parseEnvelope(stored)
	return id, err == nil
}

// header is everything before the payload.
func header(keyID string) string {
	return prefix + version + ":" + keyID + ":"
}

// additionalData authenticates the header (format version and key id) with
// the caller's context. The header ends in ':' and ids never contain one,
// so no two (id, aad) pairs produce the same bytes.
func additionalData(keyID, aad string) []byte {
	return []byte(header(keyID) + aad)
}

// parseEnvelope splits a stored value. Its errors quote nothing from s,
// which might be a plaintext secret, except a well-formed key id.
func parseEnvelope(s string) (id string, sealed []byte, err error) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", nil, fmt.Errorf("%w (no %q prefix)", ErrNotEncrypted, prefix)
	}
	rest, ok = strings.CutPrefix(rest, version+":")
	if !ok {
		return "", nil, fmt.Errorf("unsupported encrypted value: this build reads only %s%s", prefix, version)
	}
	id, payload, ok := strings.Cut(rest, ":")
	if !ok || !validKeyID(id) {
		return "", nil, errors.New("malformed encrypted value: bad key id")
	}
	// The decoder skips line breaks; refuse them so no two strings decode
	// to the same payload.
	if strings.ContainsAny(payload, "\r\n") {
		return "", nil, fmt.Errorf("malformed encrypted value under key %q: line break in payload", id)
	}
	sealed, err = payloadEncoding.DecodeString(payload)
	if err != nil {
		return "", nil, fmt.Errorf("malformed encrypted value under key %q: payload is not unpadded base64url", id)
	}
	if len(sealed) < minSealedLen {
		return "", nil, fmt.Errorf("malformed encrypted value under key %q: payload too short", id)
	}
	return id, sealed, nil
}
