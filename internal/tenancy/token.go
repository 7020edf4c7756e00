package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Tenant tokens are JWTs (RFC 7519) signed with HMAC-SHA256: a product mints
// one for its customer's browser or backend, and the API checks it without a
// database row, so there is no token table to leak or to keep in sync across
// replicas. Revocation is by expiry (keep TTLs short) or by rotating the key.
const (
	issuer   = "webhookd"
	audience = "webhookd-api"
	// MinKeyBytes is the shortest signing key accepted: HS256 keys shorter
	// than the hash output weaken it.
	MinKeyBytes = 32
	// MaxTTL bounds a token's life.
	MaxTTL = 30 * 24 * time.Hour
)

// ErrInvalidToken is every verification failure: malformed, tampered,
// expired, signed with another key. Callers answer 401 without saying which.
var ErrInvalidToken = errors.New("invalid tenant token")

// Claims is what a verified token grants.
type Claims struct {
	TenantID  string
	ReadOnly  bool
	ExpiresAt time.Time
}

type tokenClaims struct {
	jwt.RegisteredClaims
	ReadOnly bool `json:"ro,omitempty"`
}

// Tokens mints and verifies tenant tokens. The first key signs; every key
// verifies, so a key can be rotated without cutting off tokens in use.
type Tokens struct {
	keys   map[string][]byte // by key id
	signID string
	now    func() time.Time
}

// NewTokens builds a Tokens from keys, the signing key first. now is the
// clock (time.Now when nil).
func NewTokens(now func() time.Time, keys ...string) (*Tokens, error) {
	if len(keys) == 0 {
		return nil, errors.New("no signing key")
	}
	if now == nil {
		now = time.Now
	}
	t := &Tokens{keys: map[string][]byte{}, now: now}
	for i, k := range keys {
		if len(k) < MinKeyBytes {
			return nil, fmt.Errorf("key %d: must be at least %d characters (e.g. `openssl rand -base64 32`)", i+1, MinKeyBytes)
		}
		id := keyID([]byte(k))
		t.keys[id] = []byte(k)
		if i == 0 {
			t.signID = id
		}
	}
	return t, nil
}

// keyID names a key in the token header without revealing it.
func keyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// GenerateKey returns a new random signing key (for `webhookd dev`).
func GenerateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Mint returns a token for tenant, valid for ttl.
func (t *Tokens) Mint(tenant string, ttl time.Duration, readOnly bool) (string, time.Time, error) {
	if !ValidID(tenant) {
		return "", time.Time{}, fmt.Errorf("tenant id %q: %s", tenant, IDRule)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return "", time.Time{}, fmt.Errorf("ttl must be positive and at most %s", MaxTTL)
	}
	now := t.now().UTC().Truncate(time.Second)
	exp := now.Add(ttl)
	jti := make([]byte, 12)
	if _, err := rand.Read(jti); err != nil {
		return "", time.Time{}, err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: issuer, Audience: jwt.ClaimStrings{audience}, Subject: tenant,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
			ID: base64.RawURLEncoding.EncodeToString(jti),
		},
		ReadOnly: readOnly,
	})
	tok.Header["kid"] = t.signID
	s, err := tok.SignedString(t.keys[t.signID])
	return s, exp, err
}

// Verify checks a token's signature, issuer, audience and times, and returns
// its claims. Every failure is ErrInvalidToken. The signature comparison is
// constant-time (HMAC equality); only HS256 is accepted, so an "alg: none"
// or public-key token cannot be substituted.
func (t *Tokens) Verify(token string) (Claims, error) {
	var c tokenClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer), jwt.WithAudience(audience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now), jwt.WithLeeway(5*time.Second),
	)
	_, err := parser.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		id, _ := tok.Header["kid"].(string)
		key, ok := t.keys[id]
		if !ok {
			return nil, errors.New("unknown key id")
		}
		return key, nil
	})
	if err != nil || !ValidID(c.Subject) {
		return Claims{}, ErrInvalidToken
	}
	return Claims{TenantID: c.Subject, ReadOnly: c.ReadOnly, ExpiresAt: c.ExpiresAt.Time}, nil
}
