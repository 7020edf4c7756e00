package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks asymmetric keys: a whsk_ signing key (Ed25519, kept by
// webhookd) and its whpk_ public key (given to receivers). Both are base64
// after the prefix; the signing key is the 64 bytes of seed and public key
// (libsodium's and Go's layout), or the 32-byte seed alone.
const (
	signingKeyPrefix = "whsk_"
	publicKeyPrefix  = "whpk_"
)

// IsAsymmetric reports whether secret is a whsk_ signing key: it signs
// webhook-signature with v1a (Ed25519) instead of v1 (HMAC), and signs no
// HMAC header.
func IsAsymmetric(secret string) bool { return strings.HasPrefix(secret, signingKeyPrefix) }

// Check reports whether secret can sign: empty (no signing), a whsk_
// signing key, a whsec_ secret or any other text (an HMAC key).
func Check(secret string) error {
	if IsAsymmetric(secret) {
		_, err := signingKey(secret)
		return err
	}
	_, err := Key(secret)
	return err
}

// NewSigningKey generates a whsk_ signing key.
func NewSigningKey() string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand never fails; it would crash the program first
	}
	return signingKeyPrefix + base64.StdEncoding.EncodeToString(priv)
}

// PublicKey is the whpk_ public key of a whsk_ signing key, what receivers
// verify v1a signatures with; "" for any other secret.
func PublicKey(secret string) string {
	if !IsAsymmetric(secret) {
		return ""
	}
	priv, err := signingKey(secret)
	if err != nil {
		return ""
	}
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
}

func signingKey(secret string) (ed25519.PrivateKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, signingKeyPrefix))
	if err != nil {
		return nil, fmt.Errorf("decode %s key: %w", signingKeyPrefix, err)
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.PrivateKey(raw)
		// The public half must be the seed's: a key whose halves disagree
		// would sign with one and publish another.
		if !priv.Equal(ed25519.NewKeyFromSeed(priv.Seed())) {
			return nil, fmt.Errorf("decode %s key: its public half does not match its seed", signingKeyPrefix)
		}
		return priv, nil
	}
	return nil, fmt.Errorf("decode %s key: want %d or %d bytes, got %d", signingKeyPrefix, ed25519.SeedSize, ed25519.PrivateKeySize, len(raw))
}

// AsymmetricSignature is the Standard Webhooks v1a value: "v1a," and the
// base64 Ed25519 signature of "{msgID}.{unix seconds}.{body}", the same
// content v1 signs.
func AsymmetricSignature(key ed25519.PrivateKey, msgID string, ts time.Time, body []byte) string {
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(key, signedContent(msgID, ts, body)))
}

func signedContent(msgID string, ts time.Time, body []byte) []byte {
	signed := make([]byte, 0, len(msgID)+len(body)+24)
	signed = append(signed, msgID...)
	signed = append(signed, '.')
	signed = strconv.AppendInt(signed, ts.Unix(), 10)
	signed = append(signed, '.')
	return append(signed, body...)
}

// Shared drops the whsk_ signing keys from secrets: what is left keys the
// HMAC signatures that only a shared secret can make (OpenMetadata's).
func Shared(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if !IsAsymmetric(s) {
			out = append(out, s)
		}
	}
	return out
}
