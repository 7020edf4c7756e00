package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/models"
)

// MaxSigningSecrets is how many secrets may sign a webhook's requests at
// once: the current one and those rotations replaced, each until its own
// grace period ends.
const MaxSigningSecrets = 5

// RotateSecret makes secret the signing secret of w (as read, at
// w.Version). The secret it replaces keeps signing until now+grace (not at
// all when grace is 0); every secret replaced before keeps signing until
// its own expiry. It answers the webhook as saved and when the replaced
// secret stops signing (nil when it already has). A rotation that would
// leave more than MaxSigningSecrets signing is a *TooManySecretsError. If the webhook
// changed since w was read (another rotation), nothing is written and the
// answer is ErrStale, so no returned secret is ever silently replaced.
func (s *Store) RotateSecret(ctx context.Context, w *models.Webhook, secret string, grace time.Duration, by string) (*models.Webhook, *time.Time, error) {
	if !validID(w.ID) {
		return nil, nil, ErrNotFound
	}
	now := Now()
	previous, until, err := rotatedSecrets(w, secret, grace, now)
	if err != nil {
		return nil, nil, err
	}
	next := &models.Webhook{ID: w.ID, SecretKey: secret, PreviousSecrets: previous}
	sealed, err := s.sealed(next)
	if err != nil {
		return nil, nil, err
	}
	column, err := previousColumn(sealed.PreviousSecrets)
	if err != nil {
		return nil, nil, err
	}
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("id = ? AND NOT deleted AND version = ?", w.ID, w.Version).
		Select("secret_key", "previous_secrets", "previous_secret_expires_at", "updated_by", "updated_at", "version").
		Updates(map[string]any{"secret_key": sealed.SecretKey, "previous_secrets": column,
			"previous_secret_expires_at": latestExpiry(previous), "updated_by": by, "updated_at": now, "version": bumpVersion()})
	if res.Error != nil {
		return nil, nil, translate(res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetWebhook(ctx, w.ID); err != nil {
			return nil, nil, err
		}
		return nil, nil, ErrStale
	}
	saved, err := s.GetWebhook(ctx, w.ID)
	return saved, until, err
}

// TooManySecretsError refuses a rotation that would leave more than
// MaxSigningSecrets signing; it is an ErrConflict whose text is meant for
// the client (no database text in it).
type TooManySecretsError struct {
	Count int
	// NextExpiry is when the first of the previous secrets stops signing.
	NextExpiry time.Time
}

func (e *TooManySecretsError) Error() string {
	return fmt.Sprintf("this rotation would make %d secrets sign at once, and a webhook has at most %d "+
		"(the current one and those earlier rotations replaced, until each one's grace period ends); "+
		"the next one expires at %s, or rotate with graceSeconds 0 to keep no more",
		e.Count, MaxSigningSecrets, e.NextExpiry.Format(time.RFC3339))
}

func (e *TooManySecretsError) Unwrap() error { return ErrConflict }

// rotatedSecrets is the rotation rule: the previous secrets after w's
// secret is replaced by secret at now, newest first, and when the replaced
// one stops signing (nil: not kept). Expired secrets are dropped, and so is
// the new secret if it was a previous one (it signs as the current one).
func rotatedSecrets(w *models.Webhook, secret string, grace time.Duration, now time.Time) ([]models.PreviousSecret, *time.Time, error) {
	var previous []models.PreviousSecret
	var until *time.Time
	if w.SecretKey != "" && w.SecretKey != secret && grace > 0 {
		t := now.Add(grace).UTC().Truncate(time.Millisecond)
		until = &t
		previous = append(previous, models.PreviousSecret{Key: w.SecretKey, ExpiresAt: t})
	}
	for _, p := range w.PreviousSecrets {
		if p.Key != "" && p.Key != secret && p.Key != w.SecretKey && now.Before(p.ExpiresAt) {
			previous = append(previous, p)
		}
	}
	if n := 1 + len(previous); n > MaxSigningSecrets {
		soonest := previous[0].ExpiresAt
		for _, p := range previous {
			if p.ExpiresAt.Before(soonest) {
				soonest = p.ExpiresAt
			}
		}
		return nil, nil, &TooManySecretsError{Count: n, NextExpiry: soonest}
	}
	return previous, until, nil
}

// previousColumn is the previous_secrets value of sealed, as the model's
// JSON serializer writes it (NULL for none): Updates with a map bypasses
// the serializer.
func previousColumn(sealed []models.PreviousSecret) (any, error) {
	if len(sealed) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(sealed)
	return string(b), err
}

// latestExpiry is when the last of previous stops signing, or nil.
func latestExpiry(previous []models.PreviousSecret) *time.Time {
	var latest *time.Time
	for _, p := range previous {
		if latest == nil || p.ExpiresAt.After(*latest) {
			latest = &p.ExpiresAt
		}
	}
	return latest
}
