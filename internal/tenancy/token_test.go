package tenancy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	keyA = "0123456789abcdef0123456789abcdef-key-a"
	keyB = "0123456789abcdef0123456789abcdef-key-b"
)

func clock(at time.Time) func() time.Time { return func() time.Time { return at } }

func TestMintAndVerify(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tk, err := NewTokens(clock(now), keyA)
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := tk.Mint("acme", time.Hour, true)
	if err != nil || !exp.Equal(now.Add(time.Hour)) {
		t.Fatalf("mint: %v %v", exp, err)
	}
	c, err := tk.Verify(tok)
	if err != nil || c.TenantID != "acme" || !c.ReadOnly || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("verify: %+v %v", c, err)
	}
	// Expired (past the 5 s leeway).
	late, _ := NewTokens(clock(now.Add(time.Hour+6*time.Second)), keyA)
	if _, err := late.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token: %v", err)
	}
	// Another key.
	other, _ := NewTokens(clock(now), keyB)
	if _, err := other.Verify(tok); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestRotationKeepsOldTokensValid(t *testing.T) {
	now := time.Now()
	old, _ := NewTokens(clock(now), keyA)
	tok, _, _ := old.Mint("acme", time.Hour, false)
	rotated, err := NewTokens(clock(now), keyB, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := rotated.Verify(tok); err != nil || c.TenantID != "acme" {
		t.Fatalf("a token of the previous key must verify: %+v %v", c, err)
	}
	fresh, _, _ := rotated.Mint("acme", time.Hour, false)
	if _, err := old.Verify(fresh); err == nil {
		t.Fatal("the old keyring must not know the new key")
	}
}

func TestTamperedAndForgedTokens(t *testing.T) {
	now := time.Now()
	tk, _ := NewTokens(clock(now), keyA)
	tok, _, _ := tk.Mint("acme", time.Hour, true)
	parts := strings.Split(tok, ".")
	// Change the tenant in the payload, keep the signature.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"acme"`, `"evil"`, 1)
	if forged == string(payload) {
		t.Fatal("test setup: tenant not found in payload")
	}
	bad := []string{
		parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
		strings.Replace(string(payload), `"ro":true`, `"ro":false`, 1), // not even a JWT
		"", "garbage", tok + "x", parts[0] + "." + parts[1] + ".",
	}
	// alg=none, and an HS256 token signed with the right key but another issuer.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "acme", "iss": issuer, "aud": audience, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	s, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	bad = append(bad, s)
	wrongIss := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "acme", "iss": "someone", "aud": audience, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
	wrongIss.Header["kid"] = keyID([]byte(keyA))
	s, _ = wrongIss.SignedString([]byte(keyA))
	bad = append(bad, s)
	noExp := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "acme", "iss": issuer, "aud": audience, "iat": now.Unix()})
	noExp.Header["kid"] = keyID([]byte(keyA))
	s, _ = noExp.SignedString([]byte(keyA))
	bad = append(bad, s)
	for i, b := range bad {
		if _, err := tk.Verify(b); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("bad token %d verified: %v", i, err)
		}
	}
}

func TestMintRefusals(t *testing.T) {
	if _, err := NewTokens(nil, "short"); err == nil {
		t.Fatal("a short key must be refused")
	}
	tk, _ := NewTokens(nil, keyA)
	for _, tenant := range []string{"", "-x", "a b", strings.Repeat("a", 129)} {
		if _, _, err := tk.Mint(tenant, time.Hour, false); err == nil {
			t.Errorf("tenant %q accepted", tenant)
		}
	}
	if _, _, err := tk.Mint("acme", MaxTTL+time.Second, false); err == nil {
		t.Fatal("ttl over the maximum accepted")
	}
	k, err := GenerateKey()
	if err != nil || len(k) < MinKeyBytes {
		t.Fatalf("generated key %d chars: %v", len(k), err)
	}
	if _, err := NewTokens(nil, k); err != nil {
		t.Fatal(err)
	}
}

func TestValidID(t *testing.T) {
	for _, ok := range []string{"default", "acme", "tenant_abc123", "org:42", "a.b-c", "A", strings.Repeat("a", 128)} {
		if !ValidID(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", ".a", "-a", "a/b", "a b", "ä", strings.Repeat("a", 129)} {
		if ValidID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
