package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

func TestPauseAndResume(t *testing.T) {
	a := newAPI(t, store.Postgres)
	created := a.do("POST", "/api/v1/webhooks", sampleWebhook("paused")).json(t)
	id := created["id"].(string)
	if created["paused"] != false {
		t.Fatalf("a new webhook is not paused: %v", created)
	}
	r := a.do("POST", "/api/v1/webhooks/"+id+"/pause", nil)
	if r.Status != 200 || r.json(t)["paused"] != true || r.json(t)["version"] == created["version"] {
		t.Fatalf("pause: %d %s", r.Status, r.Body)
	}
	if again := a.do("POST", "/api/v1/webhooks/"+id+"/pause", nil); again.Status != 200 || again.json(t)["version"] != r.json(t)["version"] {
		t.Fatalf("pausing a paused webhook must change nothing: %s", again.Body)
	}
	// Versions count in tenths, however often they change.
	for i, want := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8} {
		a.do("POST", "/api/v1/webhooks/"+id+[]string{"/resume", "/pause"}[i%2], nil)
		if v := a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)["version"]; v != want {
			t.Fatalf("version after %d more pauses and resumes = %v, want %v", i+1, v, want)
		}
	}
	// paused is read-only: a PATCH may not change it, a PUT ignores it (as
	// it ignores status).
	if r := a.do("PATCH", "/api/v1/webhooks/"+id, `[{"op":"replace","path":"/paused","value":false}]`,
		"Content-Type", "application/json-patch+json"); r.Status != 422 || !strings.HasPrefix(r.errorMessage(t), "paused:") {
		t.Fatalf("PATCH paused=false = %d %s", r.Status, r.Body)
	}
	doc := a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	doc["paused"], doc["description"] = false, "edited"
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 || r.json(t)["paused"] != true {
		t.Fatalf("PUT paused=false = %d %s", r.Status, r.Body)
	}
	// Held deliveries show in the log and are released on resume.
	ctx := context.Background()
	now := store.Now()
	for i := range 3 {
		ev := &models.Event{ID: "held-" + string(rune('a'+i)), Type: "entityCreated", Timestamp: now, CreatedAt: now}
		d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: id, EventType: ev.Type,
			Status: models.DeliveryHeld, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
		if _, _, _, err := a.store.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
	if held := a.do("GET", "/api/v1/webhooks/"+id+"/deliveries?status=held", nil).json(t)["data"].([]any); len(held) != 3 {
		t.Fatalf("held deliveries in the log: %d", len(held))
	}
	r = a.do("POST", "/api/v1/webhooks/"+id+"/resume", nil)
	if r.Status != 200 || r.json(t)["paused"] != false || r.json(t)["released"] != float64(3) {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	if held := a.do("GET", "/api/v1/webhooks/"+id+"/deliveries?status=held", nil).json(t)["data"].([]any); len(held) != 0 {
		t.Fatalf("held deliveries after resume: %d", len(held))
	}
	if r := a.do("POST", "/api/v1/webhooks/"+uuid.NewString()+"/pause", nil); r.Status != 404 {
		t.Fatalf("pause of an unknown webhook = %d", r.Status)
	}
}

func TestWebhookStats(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("measured")).json(t)["id"].(string)
	empty := a.do("GET", "/api/v1/webhooks/"+id+"/stats", nil)
	if e := empty.json(t); empty.Status != 200 || e["attempts"] != float64(0) || e["successRate"] != nil || e["window"] != "24h" {
		t.Fatalf("stats of a new webhook: %d %s", empty.Status, empty.Body)
	}
	ctx := context.Background()
	now := store.Now()
	for i, c := range []struct {
		status int
		took   time.Duration
	}{{200, 30 * time.Millisecond}, {200, 40 * time.Millisecond}, {200, 45 * time.Millisecond}, {500, 900 * time.Millisecond}} {
		ev := &models.Event{ID: "s" + string(rune('a'+i)), Type: "entityCreated", Timestamp: now, CreatedAt: now}
		d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: id, EventType: ev.Type,
			Status: models.DeliveryDelivering, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
		if _, _, _, err := a.store.IngestEvent(ctx, ev, []models.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		status := c.status
		if err := a.store.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: id,
			DeliveryStatus: models.DeliverySucceeded, Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1,
				Trigger: models.TriggerScheduled, RequestURL: "https://example.com", ResponseStatus: &status,
				DurationMs: c.took.Milliseconds(), StartedAt: now, FinishedAt: now.Add(-time.Duration(i) * time.Minute)}}); err != nil {
			t.Fatal(err)
		}
	}
	st := a.do("GET", "/api/v1/webhooks/"+id+"/stats?window=1h", nil).json(t)
	rt, _ := st["responseTimeMs"].(map[string]any)
	if st["attempts"] != float64(4) || st["successes"] != float64(3) || st["failures"] != float64(1) ||
		st["successRate"] != 0.75 || rt == nil || rt["p50"].(float64) < 25 || rt["p50"].(float64) > 50 ||
		rt["p95"].(float64) < 500 || rt["p95"].(float64) > 1000 || st["lastSuccessAt"] == nil || st["lastFailureAt"] == nil {
		t.Fatalf("stats: %v", st)
	}
	for _, w := range []string{"30m", "31d", "week", "-1h", "9999999d"} {
		if r := a.do("GET", "/api/v1/webhooks/"+id+"/stats?window="+w, nil); r.Status != 400 || !strings.HasPrefix(r.errorMessage(t), "window:") {
			t.Errorf("window=%s: %d %s", w, r.Status, r.Body)
		}
	}
	for _, w := range []string{"1h", "90m", "7d", "30d", "720h"} {
		if r := a.do("GET", "/api/v1/webhooks/"+id+"/stats?window="+w, nil); r.Status != 200 {
			t.Errorf("window=%s: %d %s", w, r.Status, r.Body)
		}
	}
}

func TestUpdatesThatChangeNothingKeepTheVersion(t *testing.T) {
	a := newAPI(t, store.Postgres)
	doc := a.do("POST", "/api/v1/webhooks", sampleWebhook("stable")).json(t)
	id := doc["id"].(string)
	if r := a.do("PUT", "/api/v1/webhooks/"+id, doc); r.Status != 200 || r.json(t)["version"] != doc["version"] ||
		r.json(t)["updatedAt"] != doc["updatedAt"] {
		t.Fatalf("PUT of the same document: %s (was %v)", r.Body, doc["version"])
	}
	if r := a.do("PATCH", "/api/v1/webhooks/"+id, "[]", "Content-Type", "application/json-patch+json"); r.Status != 200 ||
		r.json(t)["version"] != doc["version"] {
		t.Fatalf("empty patch: %s", r.Body)
	}
	r := a.do("PATCH", "/api/v1/webhooks/"+id, `[{"op":"add","path":"/description","value":"real change"}]`,
		"Content-Type", "application/json-patch+json")
	if r.Status != 200 || r.json(t)["version"] == doc["version"] {
		t.Fatalf("a real change must bump the version: %s", r.Body)
	}
}

func TestNullBodiesAreRefused(t *testing.T) {
	a := newAPI(t, store.Postgres)
	db := inspect(t, a)
	before := db.Dump()
	for _, path := range []string{"/api/v1/dlq/replay", "/api/v1/webhooks", "/api/v1/events", "/api/v1/events/batch"} {
		if r := a.do("POST", path, "null"); r.Status != 400 {
			t.Errorf("POST %s null = %d %s", path, r.Status, r.Body)
		}
	}
	if db.Dump() != before || len(a.runner.Starts()) != 0 || len(a.tests.calls) != 0 {
		t.Fatalf("a null body changed something (starts %v, tests %v)", a.runner.Starts(), a.tests.calls)
	}
}

// TestDatabaseOutageIsNotNotFound: when the database does not answer, reads
// say so (500), instead of claiming the webhook does not exist.
func TestDatabaseOutageIsNotNotFound(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("there")).json(t)["id"].(string)
	if err := a.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks/" + id + "/deliveries", "/api/v1/webhooks/name/there"} {
		if r := a.do("GET", path, nil); r.Status != 500 {
			t.Errorf("GET %s with the database gone = %d %s", path, r.Status, r.Body)
		}
	}
}
