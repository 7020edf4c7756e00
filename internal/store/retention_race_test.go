package store

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// TestPurgeSparesAnEventReplayedMidPass: a replay that commits between the
// retention pass's first scan and its re-check inside the transaction keeps
// the event, its delivery and attempts.
func TestPurgeSparesAnEventReplayedMidPass(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "w.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := Now()
	old := now.Add(-8 * 24 * time.Hour)
	w := &models.Webhook{ID: "0190a000-0000-7000-8000-0000000000aa", TenantID: "acme", Name: "n", WebhookType: models.WebhookGeneric,
		Enabled: true, Status: models.WebhookActive, EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://e.x",
		Version: 0.1, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	ev := &models.Event{TenantID: "acme", ID: "evt-1", Type: "t", Timestamp: old, CreatedAt: old}
	d := models.Delivery{ID: "0190a000-0000-7000-8000-0000000000bb", TenantID: "acme", EventID: ev.ID, WebhookID: w.ID,
		EventType: "t", Status: models.DeliveryFailed, Trigger: models.TriggerScheduled, CreatedAt: old, UpdatedAt: old}
	if _, _, _, err := s.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	var eventQueries atomic.Int32
	err = s.db.Callback().Row().Before("gorm:row").Register("test:replay-mid-pass", func(db *gorm.DB) {
		// The second events query is the re-check: replay just before it.
		if db.Statement.Table == "events" && eventQueries.Add(1) == 2 {
			if _, err := db.Statement.ConnPool.ExecContext(db.Statement.Context, "UPDATE deliveries SET status = 'pending'"); err != nil {
				t.Errorf("simulated replay: %v", err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.PurgeBefore(ctx, now.Add(-7*24*time.Hour))
	if err != nil || eventQueries.Load() < 2 {
		t.Fatalf("purge: %+v %v (%d event queries: the re-check did not run)", res, err, eventQueries.Load())
	}
	if _, err := s.GetDelivery(ctx, d.ID); err != nil || res.Events != 0 {
		t.Fatalf("a replayed delivery was purged: %+v %v", res, err)
	}
}
