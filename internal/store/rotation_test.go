package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

func whsec(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// rotate rotates w's secret as the API does: on what was just read.
func rotate(t *testing.T, s *store.Store, id, secret string, grace time.Duration) (*models.Webhook, *time.Time, error) {
	t.Helper()
	read, err := s.GetWebhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.RotateSecret(context.Background(), read, secret, grace, "test")
}

// TestEveryRotatedSecretSignsUntilItsOwnExpiry: three rotations within
// the grace periods leave all three older secrets signing, each until its
// own expiry, as the official Standard Webhooks library verifies.
func TestEveryRotatedSecretSignsUntilItsOwnExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWebhook("rotating")
		keys := []string{whsec(t), whsec(t), whsec(t), whsec(t)}
		w.SecretKey = keys[0]
		if err := s.CreateWebhook(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		graces := []time.Duration{time.Hour, 3 * time.Hour, 2 * time.Hour} // keys[0], keys[1], keys[2]
		for i, grace := range graces {
			if _, until, err := rotate(t, s, w.ID, keys[i+1], grace); err != nil || until == nil {
				t.Fatalf("rotation %d: %v", i+1, err)
			}
		}
		got, err := s.GetWebhook(context.Background(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		var stored []string
		for _, p := range got.PreviousSecrets {
			stored = append(stored, p.Key)
		}
		if got.SecretKey != keys[3] || !slices.Equal(stored, []string{keys[2], keys[1], keys[0]}) {
			t.Fatalf("secrets after three rotations: %q, previous newest first %q", got.SecretKey, stored)
		}
		if latest := got.PreviousSecretExpiresAt; latest == nil || latest.Sub(start) < 3*time.Hour || latest.Sub(start) > 3*time.Hour+time.Minute {
			t.Errorf("previousSecretExpiresAt %v, want the latest expiry (3 h)", latest)
		}

		// What signs at each moment: every key until its own expiry.
		for _, at := range []struct {
			after time.Duration
			sign  []string
		}{
			{0, keys},
			{time.Hour + time.Minute, keys[1:]},
			{2*time.Hour + time.Minute, []string{keys[1], keys[3]}},
			{3*time.Hour + time.Minute, keys[3:]},
		} {
			body, h := send(t, got, start.Add(at.after))
			for i, key := range keys {
				lib, err := standardwebhooks.NewWebhook(key)
				if err != nil {
					t.Fatal(err)
				}
				verified := lib.VerifyIgnoringTimestamp(body, h) == nil
				if want := slices.Contains(at.sign, key); verified != want {
					t.Errorf("after %s: key %d verifies %v, want %v", at.after, i, verified, want)
				}
			}
			if n := len(h.Values(signing.HeaderSignature)); n != len(at.sign) {
				t.Errorf("after %s: %d X-Webhook-Signature lines, want %d", at.after, n, len(at.sign))
			}
		}
	})
}

// send posts one event for w as the delivery path would at now, and
// returns the body and headers the receiver got.
func send(t *testing.T, w *models.Webhook, now time.Time) ([]byte, http.Header) {
	t.Helper()
	var body []byte
	var h http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		h = r.Header.Clone()
	}))
	defer srv.Close()
	wh := *w
	wh.Endpoint = srv.URL
	p := &deliver.Poster{Client: srv.Client(), Version: "test", Now: func() time.Time { return now }}
	res := p.Post(context.Background(), deliver.Request{Webhook: &wh, Attempt: 1, Trigger: models.TriggerScheduled,
		Event: &models.Event{ID: "evt-1", Type: "entityCreated", Timestamp: now, Data: []byte(`{"a":1}`)}})
	if res.Attempt == nil || res.Attempt.StatusCode != 200 {
		t.Fatalf("send: %+v", res.Attempt)
	}
	return body, h
}

func TestRotationKeepsAtMostFiveSigningSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newWebhook("bounded")
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		// One that expires almost at once: dropped by the next write.
		if _, _, err := rotate(t, s, w.ID, "secret-1", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
		for i := 2; i <= 5; i++ {
			if _, _, err := rotate(t, s, w.ID, "secret-"+string(rune('0'+i)), time.Hour); err != nil {
				t.Fatalf("rotation to secret-%d: %v", i, err)
			}
		}
		got, _ := s.GetWebhook(ctx, w.ID)
		if len(got.PreviousSecrets) != 4 || got.PreviousSecrets[3].Key != "secret-1" {
			t.Fatalf("previous secrets: %+v", got.PreviousSecrets)
		}
		_, _, err := rotate(t, s, w.ID, "secret-6", time.Hour)
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "6 secrets sign at once, and a webhook has at most 5") {
			t.Fatalf("a sixth signing secret: %v", err)
		}
		if after, _ := s.GetWebhook(ctx, w.ID); after.SecretKey != "secret-5" || after.Version != got.Version {
			t.Fatalf("the refused rotation wrote: %+v", after)
		}
		// Without grace the replaced secret is not kept: still five.
		saved, until, err := rotate(t, s, w.ID, "secret-6", 0)
		if err != nil || until != nil || len(saved.PreviousSecrets) != 4 {
			t.Fatalf("rotation without grace at the limit: %v %v %+v", err, until, saved)
		}
		// Back to a previous secret: it signs once, as the current one.
		saved, _, err = rotate(t, s, w.ID, "secret-4", 0)
		if err != nil || len(saved.PreviousSecrets) != 3 || saved.PreviousSecrets[0].Key != "secret-3" {
			t.Fatalf("rotation back to a previous secret: %v %+v", err, saved)
		}
	})
}

func TestPreviousSecretsAreEncryptedAtRest(t *testing.T) {
	s, url := storetest.OpenPostgres(t)
	ctx := context.Background()
	a, b := newWebhook("a"), newWebhook("b")
	for _, w := range []*models.Webhook{a, b} {
		if err := s.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, secret := range []string{"first-plain-secret", "second-plain-secret"} {
		if _, _, err := rotate(t, s, a.ID, secret, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	db := storetest.Inspect(t, url)
	if dump := db.Dump(); strings.Contains(dump, "first-plain") || strings.Contains(dump, "s3cret") {
		t.Fatalf("a previous secret is stored in the clear: %s", dump)
	}
	// Copied to another webhook, they do not decrypt.
	db.Exec(`UPDATE webhooks SET previous_secrets = (SELECT previous_secrets FROM webhooks WHERE name = 'a') WHERE name = 'b'`)
	if _, err := s.GetWebhook(ctx, b.ID); err == nil {
		t.Fatal("previous secrets copied from another webhook were accepted")
	}
	// Re-encryption under a new key keeps them.
	if _, err := s.EncryptSecrets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetWebhook(ctx, a.ID); err != nil || len(got.PreviousSecrets) != 2 || got.PreviousSecrets[1].Key != "s3cret" {
		t.Fatalf("after re-encryption: %+v %v", got, err)
	}
}

// TestPreviousSecretMigratesIntoTheList: a webhook rotated under schema 5
// (one previous secret, encrypted) keeps it, signing until the same
// expiry, after the migration to a list.
func TestPreviousSecretMigratesIntoTheList(t *testing.T) {
	for _, d := range storetest.Backends {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.SQLiteURL(t)
			if d == store.Postgres {
				url = storetest.EmptyPostgresURL(t)
			}
			s, err := store.Open(ctx, url, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			keyring := storetest.Keyring(t)
			s.UseKeyring(keyring)
			if err := s.MigrateTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			const rotated, plain = "0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"
			sealed, err := keyring.Encrypt("the-old-secret", "webhook/"+rotated+"/previousSecretKey")
			if err != nil {
				t.Fatal(err)
			}
			now := store.Now()
			expiry := now.Add(6 * time.Hour).Truncate(time.Millisecond)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO webhooks (id, name, webhook_type, event_filters, endpoint, secret_key, previous_secret_key,
				  previous_secret_expires_at, created_at, updated_at)
				  VALUES (?, 'rotated', 'Generic', '[{"eventType":"*"}]', 'https://example.com/in', 'current', ?, ?, ?, ?)`,
					[]any{rotated, sealed, expiry, now, now}},
				{`INSERT INTO webhooks (id, name, webhook_type, event_filters, endpoint, secret_key, created_at, updated_at)
				  VALUES (?, 'plain', 'Generic', '[{"eventType":"*"}]', 'https://example.com/in', 'current', ?, ?)`,
					[]any{plain, now, now}},
			} {
				if err := s.Exec(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("schema-5 row: %v", err)
				}
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate: %v", err)
			}
			// As a release starts after its migration: with new connections
			// (SQLite's driver keeps the column list a connection saw
			// before the schema changed under it).
			s.Close()
			if s, err = store.Open(ctx, url, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.UseKeyring(keyring)
			got, err := s.GetWebhook(ctx, rotated)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.PreviousSecrets) != 1 || got.PreviousSecrets[0].Key != "the-old-secret" ||
				!got.PreviousSecrets[0].ExpiresAt.Equal(expiry) || got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(expiry) {
				t.Fatalf("after the migration: %+v (expiry %v)", got.PreviousSecrets, got.PreviousSecretExpiresAt)
			}
			if other, err := s.GetWebhook(ctx, plain); err != nil || len(other.PreviousSecrets) != 0 {
				t.Fatalf("a webhook never rotated: %+v %v", other, err)
			}
		})
	}
}
