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
	// SecretKey is the new secret; empty has a whsec_ key generated.
	SecretKey string
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

const (
	defaultGrace = 24 * time.Hour
	maxGrace     = 7 * 24 * time.Hour
)

// Rotate replaces a webhook's signing secret without breaking its
// receiver: during the grace period every request carries signatures by
// the new and the old secret, so the receiver can switch at its own pace.
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
	case secret == "":
		secret = newSecret()
	default:
		if _, err := signing.Key(secret); err != nil {
			return Rotated{}, invalid("secretKey", "%v", err)
		}
	}
	var previous string
	var until *time.Time
	if w.SecretKey != "" && w.SecretKey != secret && grace > 0 {
		previous = w.SecretKey
		t := time.Now().UTC().Add(grace).Truncate(time.Millisecond)
		until = &t
	}
	saved, err := s.store.RotateSecret(ctx, w.ID, w.Version, secret, previous, until, by)
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
