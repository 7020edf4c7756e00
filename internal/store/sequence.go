package store

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// Ordered delivery (docs/operations.md "Ordered delivery"): a delivery of an ordered
// webhook carries its sequence (sequence_key, NULL when unordered) and its
// place in it (sequence_at, the event's timestamp, then created_at and id:
// arrival). The outbox claim takes a sequenced delivery only when it heads
// its sequence: no earlier delivery of the sequence is unsettled. Settled
// means succeeded, cancelled, or skipped (a failure under onExhausted
// "skip", or POST /deliveries/{id}/skip); a failure under "block" holds the
// sequence until it is replayed and succeeds, or is skipped.

// unsettledBefore matches the unsettled deliveries p of d's sequence that
// come before d. The partial index deliveries_sequence covers it.
const unsettledBefore = `p.webhook_id = d.webhook_id AND p.sequence_key = d.sequence_key AND p.sequence_key IS NOT NULL
	AND p.status NOT IN ('succeeded', 'cancelled') AND NOT p.sequence_skipped
	AND (p.sequence_at, p.created_at, p.id) < (d.sequence_at, d.created_at, d.id)`

// inFlightBeside matches the deliveries p of d's sequence, other than d,
// that are in flight (claimed and not finished). The head alone is not
// enough: an event whose timestamp is earlier than one already sent heads
// its sequence, and a replay's is put back in it, while a later delivery of
// the sequence may still be in flight; one request at a time per sequence
// means they wait for it. The partial index deliveries_sequence covers it
// (an in-flight delivery is unsettled and not skipped). Its status
// condition is repeated word for word although the IN list implies it:
// SQLite infers a few conditions (x IS NOT NULL from x = ?) but not a NOT IN
// from an IN list, and without the index it walked the webhook's whole
// delivery log for every sequenced claim.
const inFlightBeside = `p.webhook_id = d.webhook_id AND p.sequence_key = d.sequence_key AND p.sequence_key IS NOT NULL
	AND p.status IN ('pending', 'delivering', 'awaitingRetry') AND NOT p.sequence_skipped
	AND p.status NOT IN ('succeeded', 'cancelled')
	AND p.dispatched_at IS NOT NULL AND p.id <> d.id`

// sequenceHead is true of a delivery d that is unordered, or heads its
// sequence while no other delivery of it is in flight.
const sequenceHead = `(d.sequence_key IS NULL OR (NOT EXISTS (SELECT 1 FROM deliveries p WHERE ` + unsettledBefore + `)
	AND NOT EXISTS (SELECT 1 FROM deliveries p WHERE ` + inFlightBeside + `)))`

// SetSequenceWaker sets what is called when a sequence may move on (a
// sequenced delivery settled): the outbox starter's wake-up, so that the
// next delivery of the sequence starts now rather than at the next poll.
func (s *Store) SetSequenceWaker(wake func()) { s.sequenceWaker = wake }

// settleInSequence marks a failed sequenced delivery skipped when its
// webhook's sequence moves on after a failure (onExhausted "skip"), and
// reports whether a delivery of a sequence settled. sequenced says
// whether the delivery has a sequence key (fixed when it is stored: the
// caller read it already, so an unordered delivery costs no statement).
func settleInSequence(tx *gorm.DB, id string, status models.DeliveryStatus, sequenced bool) (bool, error) {
	if !sequenced {
		return false, nil
	}
	switch status {
	case models.DeliverySucceeded, models.DeliveryCancelled:
		return true, nil
	case models.DeliveryFailed:
		res := tx.Model(&models.Delivery{}).
			Where("id = ? AND sequence_key IS NOT NULL AND webhook_id IN (?)", id,
				tx.Model(&models.Webhook{}).Select("id").Where("ordering_on_exhausted = ?", "skip")).
			Update("sequence_skipped", true)
		return res.RowsAffected > 0, res.Error
	}
	return false, nil
}

// ErrNotSkippable is returned by SkipInSequence for a delivery that is not
// a failed delivery of an ordered webhook.
var ErrNotSkippable = errors.New("only a failed delivery of an ordered webhook can be skipped")

// SkipInSequence settles a failed sequenced delivery without sending it, so
// that its sequence moves on (it stays in the dead-letter queue). Skipping a
// skipped delivery changes nothing.
func (s *Store) SkipInSequence(ctx context.Context, id string) (*models.Delivery, error) {
	d, err := s.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.SequenceKey == nil || d.Status != models.DeliveryFailed {
		return nil, ErrNotSkippable
	}
	if !d.SequenceSkipped {
		err := s.db.WithContext(ctx).Model(&models.Delivery{}).Where("id = ?", id).
			Updates(map[string]any{"sequence_skipped": true, "updated_at": Now()}).Error
		if err != nil {
			return nil, translate(err)
		}
	}
	return s.GetDelivery(ctx, id)
}

// WaitingFor returns the id of the delivery a sequenced delivery waits for
// (the earliest unsettled one before it in its sequence, else another of
// the sequence in flight), or "".
func (s *Store) WaitingFor(ctx context.Context, d *models.Delivery) (string, error) {
	if d.SequenceKey == nil {
		return "", nil
	}
	for _, q := range []string{
		unsettledBefore + ` ORDER BY p.sequence_at, p.created_at, p.id`,
		inFlightBeside + ` ORDER BY p.id`,
	} {
		var ids []string
		err := s.db.WithContext(ctx).Raw(`SELECT p.id FROM deliveries p, deliveries d WHERE d.id = ? AND `+q+` LIMIT 1`, d.ID).
			Scan(&ids).Error
		if err != nil || len(ids) == 1 {
			return strings.Join(ids, ""), err
		}
	}
	return "", nil
}

func (s *Store) wakeSequences() {
	if s.sequenceWaker != nil {
		s.sequenceWaker()
	}
}
