package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/models"
)

// Rotation asks for a new signing secret.
type Rotation struct {
	// SecretKey is the new secret; empty has one generated, of KeyType.
	SecretKey string
	// KeyType is what to generate: KeyHMAC (a whsec_ secret, the default)
	// or KeyEd25519 (a whsk_ signing key, whose signatures receivers verify
	// with its whpk_ public key).
	KeyType string
	// GraceSeconds is how long the old secret keeps signing beside the new
	// one; nil takes a day, at most seven.
	GraceSeconds *int64
}

// Rotated is a rotation's outcome: the only place the new secret is shown.
type Rotated struct {
	Secret string
	// PreviousExpiresAt is when the old secret stops signing; nil when it
	// stopped at once (no grace, or no old secret).
	PreviousExpiresAt *time.Time
	Webhook           *models.Webhook
}

// Key types a rotation generates.
const (
	KeyHMAC    = "hmac"
	KeyEd25519 = "ed25519"
)

const (
	defaultGrace = 24 * time.Hour
	maxGrace     = 7 * 24 * time.Hour
)

// Rotate replaces a webhook's signing secret without breaking its
// receiver: during the grace period every request carries signatures by
// the new and the old secret (and by those earlier rotations replaced,
// until their own grace ends), so the receiver can switch at its own pace.
// A rotation made since w was read is store.ErrStale.
func (s *Service) Rotate(ctx context.Context, w *models.Webhook, r Rotation, by string) (Rotated, error) {
	grace := defaultGrace
	if r.GraceSeconds != nil {
		// Bounds on the seconds themselves: multiplied first, a huge value
		// would wrap around into the range.
		if *r.GraceSeconds < 0 || *r.GraceSeconds > int64(maxGrace/time.Second) {
			return Rotated{}, invalid("graceSeconds", "must be from 0 to %d (7 days)", int64(maxGrace/time.Second))
		}
		grace = time.Duration(*r.GraceSeconds) * time.Second
	}
	secret := r.SecretKey
	switch {
	case secret == redact.Mask:
		return Rotated{}, invalid("secretKey", "send the new secret itself, or leave it out to have one generated")
	case secret == "" && (r.KeyType == "" || r.KeyType == KeyHMAC):
		secret = newSecret()
	case secret == "" && r.KeyType == KeyEd25519:
		secret = signing.NewSigningKey()
	case secret == "":
		return Rotated{}, invalid("keyType", "unknown key type %q: use %s or %s", r.KeyType, KeyHMAC, KeyEd25519)
	case r.KeyType != "":
		return Rotated{}, invalid("keyType", "only for a generated key: leave it out when sending secretKey")
	default:
		if err := signing.Check(secret); err != nil {
			return Rotated{}, invalid("secretKey", "%v", err)
		}
	}
	saved, until, err := s.store.RotateSecret(ctx, w, secret, grace, by)
	if err != nil {
		return Rotated{}, err
	}
	return Rotated{Secret: secret, PreviousExpiresAt: until, Webhook: saved}, nil
}

// newSecret makes a Standard Webhooks secret: whsec_ and 32 random bytes in
// base64, which every Standard Webhooks and Svix library accepts as is.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails; it would crash the program first
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
