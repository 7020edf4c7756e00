package store_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

// TestReleaseTwoWritesThatLoseDataAreRefused: a release-2 api beside this
// schema writes webhooks as it knows them. The writes that would lose data
// (a new endpoint beside a stale sealed one, a rotation into the single
// previous_secret_key, filters written back without their content filters)
// fail with a message naming the upgrade, and the row is unchanged; a
// sealed endpoint's column never holds a URL that reaches the receiver.
func TestReleaseTwoWritesThatLoseDataAreRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		w := newWebhook("upgrading")
		w.Endpoint = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/SlackPathSecret99"
		w.EventFilters = []models.EventFilter{{EventType: "*", Filter: "data.amount > 100"}}
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		var column []string
		if err := s.Raw(ctx, &column, "SELECT endpoint FROM webhooks WHERE id = ?", w.ID); err != nil ||
			len(column) != 1 || column[0] != "https://sealed.invalid/hooks.slack.com/services/T0123ABCD/B0456EFGH/********" {
			t.Fatalf("the endpoint column: %q %v", column, err)
		}
		for name, sql := range map[string]string{
			"a new endpoint":                `UPDATE webhooks SET endpoint = 'https://hooks.slack.com/services/T1/B1/other', version = version + 1 WHERE id = ?`,
			"a rotation":                    `UPDATE webhooks SET secret_key = 'new', previous_secret_key = 'old' WHERE id = ?`,
			"filters without their filter":  `UPDATE webhooks SET event_filters = '[{"eventType":"*"}]' WHERE id = ?`,
			"filters with another's filter": `UPDATE webhooks SET event_filters = '[{"eventType":"a"},{"eventType":"*"}]' WHERE id = ?`,
		} {
			err := s.Exec(ctx, sql, w.ID)
			if err == nil || !strings.Contains(err.Error(), "older than the database schema") {
				t.Errorf("%s, as release 2 writes it: %v", name, err)
			}
		}
		got, err := s.GetWebhook(ctx, w.ID)
		if err != nil || got.Endpoint != w.Endpoint || got.SecretKey != w.SecretKey || got.EventFilters[0].Filter != "data.amount > 100" {
			t.Fatalf("after refused writes: %+v %v", got, err)
		}
		// This release's own writes pass: a new endpoint, no filter.
		got.Endpoint = "https://receiver.example/plain"
		got.EventFilters = []models.EventFilter{{EventType: "*"}}
		if err := s.UpdateWebhook(ctx, got, got.Version, got.Enabled); err != nil {
			t.Fatal(err)
		}
		// What release 2 writes to a webhook it can edit safely passes.
		if err := s.Exec(ctx, `UPDATE webhooks SET description = 'edited by release 2', endpoint = 'https://receiver.example/other' WHERE id = ?`, w.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSealedEndpointsMoveOffTheReceiverHost: an endpoint sealed under
// schema 12 (its column the masked URL, which a release-2 worker would
// post to) is moved under sealed.invalid by the migration, and still sends
// to the real URL.
func TestSealedEndpointsMoveOffTheReceiverHost(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			url := storetest.SQLiteURL(t)
			if d == store.Postgres {
				url = storetest.EmptyPostgresURL(t)
			}
			s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.UseKeyring(storetest.Keyring(t))
			// The schema just before the guards (00017): the webhook is
			// written with every column this release's model has.
			if err := s.MigrateTo(ctx, 16); err != nil {
				t.Fatal(err)
			}
			w := newWebhook("sealed-at-12")
			w.Endpoint = "https://chat.example.com/v1/spaces/A/messages?key=url-key-1"
			if err := s.CreateWebhook(ctx, w); err != nil {
				t.Fatal(err)
			}
			// As schema 12's release wrote the column.
			if err := s.Exec(ctx, `UPDATE webhooks SET endpoint = ? WHERE id = ?`, "https://chat.example.com/v1/spaces/A/messages?key=********", w.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			var column []string
			if err := s.Raw(ctx, &column, "SELECT endpoint FROM webhooks WHERE id = ?", w.ID); err != nil ||
				len(column) != 1 || column[0] != "https://sealed.invalid/chat.example.com/v1/spaces/A/messages?key=********" {
				t.Fatalf("the endpoint column: %q %v", column, err)
			}
			if got, err := s.GetWebhook(ctx, w.ID); err != nil || got.Endpoint != w.Endpoint {
				t.Fatalf("the sender reads %+v %v", got, err)
			}
		})
	}
}
