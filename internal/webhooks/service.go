// Package webhooks owns every write to a webhook: create, update (PUT and
// PATCH), soft and hard delete, pause, resume and secret rotation. It
// validates what it is given (a FieldError names the field by its path in
// the API's JSON), keeps this process's matcher current, and stops a
// disabled or deleted webhook's deliveries, so that no caller has to
// remember to.
package webhooks

import (
	"context"
	"errors"
	"math"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// invalidator is this process's matcher (ingest.Matcher): a change made here
// must be seen by the next event.
type invalidator interface {
	Invalidate(tenant string)
}

// dispatcher acts on a webhook's deliveries and their workflows
// (dispatch.Dispatcher).
type dispatcher interface {
	// StopDeliveries cancels a disabled or deleted webhook's deliveries
	// and their workflows, in the background.
	StopDeliveries(ctx context.Context, webhookID string)
	// HardDelete removes the webhook with its deliveries and ends their
	// workflows.
	HardDelete(ctx context.Context, webhookID string) error
	// Wake tells the outbox starter that deliveries went back to the
	// outbox.
	Wake()
	// WakeRateWaiters tells the deliveries waiting for the webhook's rate
	// slots to ask again now, in the background.
	WakeRateWaiters(ctx context.Context, webhookID string)
	// WakeConcurrencyWaiters tells the n oldest deliveries waiting for the
	// webhook's concurrency slots to ask again now, in the background.
	WakeConcurrencyWaiters(ctx context.Context, webhookID string, n int)
}

// Service writes webhooks.
type Service struct {
	store      *store.Store
	matcher    invalidator
	dispatcher dispatcher
	// AllowPrivate lets endpoints name private, loopback and internal
	// addresses (ALLOW_PRIVATE_ENDPOINTS).
	AllowPrivate bool
	// MaxPerTenant caps each tenant's live webhooks (TENANT_MAX_WEBHOOKS;
	// 0: no cap): a create past it is a *store.QuotaError.
	MaxPerTenant int
}

// New returns a Service writing to s, telling m of every change and acting
// on deliveries through d.
func New(s *store.Store, m invalidator, d dispatcher) *Service {
	return &Service{store: s, matcher: m, dispatcher: d}
}

// Draft validates a new webhook of tenant and returns it as Create would
// store it, but stores nothing (a test before saving).
func (s *Service) Draft(ctx context.Context, tenant string, in Spec, by string) (*models.Webhook, error) {
	now := store.Now()
	w := &models.Webhook{ID: uuid.NewString(), TenantID: tenant, Version: 0.1, CreatedAt: now, UpdatedAt: now, UpdatedBy: by}
	if err := apply(ctx, in, w, s.AllowPrivate); err != nil {
		return nil, err
	}
	w.Status = models.WebhookActive
	if !w.Enabled {
		w.Status = models.WebhookDisabled
	}
	return w, nil
}

// Create validates and stores a new webhook of tenant.
func (s *Service) Create(ctx context.Context, tenant string, in Spec, by string) (*models.Webhook, error) {
	w, err := s.Draft(ctx, tenant, in, by)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateWebhookWithin(ctx, w, s.MaxPerTenant); err != nil {
		return nil, nameTaken(err, w.Name)
	}
	s.matcher.Invalidate(w.TenantID)
	return w, nil
}

// Update validates in onto the webhook as current holds it and stores it
// under optimistic locking: a change made since current was read is
// store.ErrStale, not a lost update. A spec that changes nothing writes
// nothing and keeps the version. Disabling stops the webhook's deliveries.
func (s *Service) Update(ctx context.Context, current *models.Webhook, in Spec, by string) (*models.Webhook, error) {
	next := *current
	if err := apply(ctx, in, &next, s.AllowPrivate); err != nil {
		return nil, err
	}
	switch {
	case !next.Enabled:
		next.Status = models.WebhookDisabled
	case !current.Enabled:
		next.Status = models.WebhookActive // re-enabled: a fresh start
	}
	if sameConfig(current, &next) {
		// OpenMetadata bumps the version only on a real change.
		return current, nil
	}
	next.Version, next.UpdatedAt, next.UpdatedBy = nextVersion(current.Version), store.Now(), by
	if err := s.store.UpdateWebhook(ctx, &next, current.Version, current.Enabled); err != nil {
		return nil, nameTaken(err, next.Name)
	}
	s.matcher.Invalidate(current.TenantID)
	if current.Enabled && !next.Enabled {
		s.dispatcher.StopDeliveries(ctx, current.ID)
	} else {
		// A raised limit lets waiting deliveries go sooner than they are
		// asleep until: the reserved rate slots came nearer, and the
		// concurrency slots added are free with no request ending to wake
		// anyone for them.
		if rateRaised(current.RateLimit, next.RateLimit) {
			s.dispatcher.WakeRateWaiters(ctx, current.ID)
		}
		if added := concurrencyAdded(current.MaxConcurrency, next.MaxConcurrency); added > 0 {
			s.dispatcher.WakeConcurrencyWaiters(ctx, current.ID, added)
			s.dispatcher.Wake() // its deliveries held back in the outbox may start
		}
	}
	// Read back: health fields may have changed under the edit.
	return s.store.GetWebhook(ctx, next.ID)
}

// rateRaised reports whether an edit of rateLimit (0: none) from was to
// now lets requests go faster.
func rateRaised(was, now float64) bool {
	return was > 0 && (now <= 0 || now > was)
}

// concurrencyAdded is how many more requests an edit of maxConcurrency
// (0: the default) from was to now lets be in flight (0 or less: none).
func concurrencyAdded(was, now int) int {
	return store.EffectiveMaxConcurrency(now) - store.EffectiveMaxConcurrency(was)
}

// Delete removes a webhook: soft (disabled and marked deleted, its name
// free again, its log kept) or hard (with its deliveries and their
// attempts). Either way its open deliveries end at once. It returns the
// webhook as it is now (for a hard delete, as it was).
func (s *Service) Delete(ctx context.Context, w *models.Webhook, hard bool, by string) (*models.Webhook, error) {
	if hard {
		if err := s.dispatcher.HardDelete(ctx, w.ID); err != nil {
			return nil, err
		}
		s.matcher.Invalidate(w.TenantID)
		return w, nil
	}
	if err := s.store.SoftDeleteWebhook(ctx, w.ID, by); err != nil {
		return nil, err
	}
	s.dispatcher.StopDeliveries(ctx, w.ID)
	s.matcher.Invalidate(w.TenantID)
	return s.store.GetWebhook(ctx, w.ID)
}

// Pause makes a webhook keep its events: new deliveries are held, and
// deliveries in progress hold at their next attempt. Pausing a paused
// webhook changes nothing.
func (s *Service) Pause(ctx context.Context, w *models.Webhook, by string) (*models.Webhook, error) {
	paused, _, err := s.store.SetPaused(ctx, w.ID, true, by)
	if err != nil {
		return nil, err
	}
	s.matcher.Invalidate(paused.TenantID)
	return paused, nil
}

// Resume sends a paused webhook's events again: its held deliveries go back
// to the outbox, and the starter sends them oldest first at its admission
// pace. It reports how many were released.
func (s *Service) Resume(ctx context.Context, w *models.Webhook, by string) (*models.Webhook, int64, error) {
	resumed, released, err := s.store.SetPaused(ctx, w.ID, false, by)
	if err != nil {
		return nil, 0, err
	}
	s.matcher.Invalidate(resumed.TenantID)
	s.dispatcher.Wake()
	return resumed, released, nil
}

func nameTaken(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return &NameTakenError{Name: name}
	}
	return err
}

// nextVersion follows OpenMetadata: versions start at 0.1 and each change
// adds 0.1 (rounded so that float error never shows).
func nextVersion(v float64) float64 { return math.Round(v*10+1) / 10 }

// sameConfig reports whether two versions of a webhook configure the same
// thing; health, version and audit fields are not configuration.
func sameConfig(a, b *models.Webhook) bool {
	strip := func(w *models.Webhook) models.Webhook {
		c := *w
		c.Status, c.Version, c.UpdatedAt, c.UpdatedBy, c.CreatedAt = "", 0, time.Time{}, "", time.Time{}
		c.LastFailedAt, c.LastFailedStatusCode, c.LastFailedReason, c.NextAttempt = nil, nil, "", nil
		return c
	}
	x, y := strip(a), strip(b)
	return reflect.DeepEqual(x, y)
}
