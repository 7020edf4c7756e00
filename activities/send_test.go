package activities_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookd/webhookd/activities"
	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/deliver"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is an httptest endpoint that records what it was sent.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	headers http.Header
	body    []byte
}

func newReceiver(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.headers, rc.body = r.Header.Clone(), b
		rc.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

type fixture struct {
	store    *store.Store
	sender   *activities.Sender
	webhook  *models.Webhook
	event    *models.Event
	delivery models.Delivery
}

// newFixture stores a webhook pointing at endpoint, an event and a delivery.
func newFixture(t *testing.T, endpoint string, edit func(w *models.Webhook)) *fixture {
	t.Helper()
	s := storetest.Open(t, store.Postgres)
	now := store.Now()
	w := &models.Webhook{
		ID: uuid.NewString(), Name: "receiver", WebhookType: models.WebhookGeneric, Enabled: true,
		Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 5, Version: 0.1,
		EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: endpoint, SecretKey: secret,
		Headers:   map[string]string{"Authorization": "Bearer token-123", "X-Team": "data"},
		CreatedAt: now, UpdatedAt: now,
	}
	if edit != nil {
		edit(w)
	}
	if err := s.CreateWebhook(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	ev := &models.Event{ID: "evt_" + uuid.NewString(), Type: "order.created", Data: json.RawMessage(`{"orderId":42}`),
		Timestamp: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC), CreatedAt: now}
	d := models.Delivery{ID: uuid.NewString(), EventID: ev.ID, WebhookID: w.ID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
	if _, _, _, err := s.IngestEvent(t.Context(), ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		store: s, webhook: w, event: ev, delivery: d,
		sender: &activities.Sender{
			Store: s, Poster: &deliver.Poster{
				Client:  safehttp.NewClient(safehttp.Options{AllowPrivate: true}),
				Version: "1.2.3", Now: func() time.Time { return time.Now().UTC() },
			},
		},
	}
}

func (f *fixture) send(t *testing.T, attempt int) attempt.Result {
	t.Helper()
	res, err := f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: attempt, Trigger: models.TriggerScheduled})
	if err != nil {
		t.Fatalf("Send returned an error (outcomes are results, not errors): %v", err)
	}
	return res
}

func TestSendBuildsTheSignedRequest(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Receiver", "yes")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"ok":true}`)
	})
	f := newFixture(t, rc.URL+"/hooks", nil)
	res := f.send(t, 3)

	if res.Outcome != attempt.Success || res.Attempt == nil || res.Attempt.StatusCode != 200 {
		t.Fatalf("result = %+v", res)
	}
	h := rc.headers
	want := map[string]string{
		"Content-Type": "application/json", "User-Agent": "webhookd/1.2.3", "X-Webhook-Id": f.event.ID,
		"X-Event-Type": "order.created", "X-Webhook-Attempt": "3", "Authorization": "Bearer token-123", "X-Team": "data",
		"Webhook-Id": f.event.ID,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	// The envelope described in the README ("The outbound request").
	var env map[string]any
	if err := json.Unmarshal(rc.body, &env); err != nil {
		t.Fatal(err)
	}
	if env["id"] != f.event.ID || env["version"] != "1" || env["event"] != "order.created" ||
		env["timestamp"] != "2024-01-15T10:30:00.000Z" || env["webhookName"] != "receiver" || env["isTest"] != nil {
		t.Fatalf("envelope = %s", rc.body)
	}
	// Standard Webhooks: verified by the official library.
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(rc.body, h); err != nil {
		t.Fatalf("official Standard Webhooks library rejects the request: %v", err)
	}
	// sha256=<hex>: verified by hand with the decoded whsec key.
	key, _ := standardwebhooksKey(secret)
	mac := hmac.New(sha256.New, key)
	mac.Write(rc.body)
	if got, want := h.Get("X-Webhook-Signature"), "sha256="+hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Fatalf("X-Webhook-Signature = %q, want %q", got, want)
	}
	// The attempt log masks credentials and keeps the response.
	a := res.Attempt
	if a.RequestHeaders["Authorization"] != "********" || a.RequestHeaders["X-Team"] != "data" {
		t.Fatalf("request headers in the log: %v", a.RequestHeaders)
	}
	if a.ResponseHeaders["X-Receiver"] != "yes" || a.ResponseBody != `{"ok":true}` || a.RequestURL != rc.URL+"/hooks" {
		t.Fatalf("attempt = %+v", a)
	}
	d, _ := f.store.GetDelivery(t.Context(), f.delivery.ID)
	if d.Status != models.DeliveryDelivering {
		t.Fatalf("delivery status during the attempt = %q, want delivering", d.Status)
	}
}

func TestSendOutcomes(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter string
		want       attempt.Outcome
		wantAfter  time.Duration
	}{
		{"204", 204, "", attempt.Success, 0},
		{"500", 500, "", attempt.Failure, 0},
		{"404", 404, "", attempt.Failure, 0},
		{"302 is not followed", 302, "", attempt.Failure, 0},
		{"410 gone", 410, "", attempt.Gone, 0},
		{"429 with seconds", 429, "120", attempt.Failure, 2 * time.Minute},
		{"503 with junk", 503, "soon", attempt.Failure, 0},
		{"500 ignores Retry-After", 500, "120", attempt.Failure, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				if c.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(c.status)
			})
			res := newFixture(t, rc.URL, nil).send(t, 1)
			if res.Outcome != c.want || res.RetryAfter != c.wantAfter || res.Attempt.StatusCode != c.status {
				t.Fatalf("result = %+v (attempt %+v)", res, res.Attempt)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	f := newFixture(t, rc.URL, func(w *models.Webhook) { w.TimeoutSeconds = 1 })
	start := time.Now()
	res := f.send(t, 1)
	if res.Outcome != attempt.Failure || !strings.Contains(res.Attempt.Error, "timeout") {
		t.Fatalf("result = %+v / %+v", res, res.Attempt)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("a 1s timeout took %v", took)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	res := newFixture(t, "http://"+addr+"/x?token=abc123", nil).send(t, 1)
	if res.Outcome != attempt.Failure || !strings.Contains(res.Attempt.Error, "refused") {
		t.Fatalf("result = %+v / %+v", res, res.Attempt)
	}
	// Tokens in the query string stay out of the log and the history.
	if strings.Contains(res.Attempt.Error, "abc123") || strings.Contains(res.Attempt.RequestURL, "abc123") {
		t.Fatalf("query secret leaked: %q %q", res.Attempt.RequestURL, res.Attempt.Error)
	}
}

func TestSendTruncatesLargeResponses(t *testing.T) {
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("a", deliver.MaxResponseBody+1000))
	})
	res := newFixture(t, rc.URL, nil).send(t, 1)
	if res.Outcome != attempt.Success || len(res.Attempt.ResponseBody) != deliver.MaxResponseBody {
		t.Fatalf("kept %d bytes, want %d", len(res.Attempt.ResponseBody), deliver.MaxResponseBody)
	}
}

func TestSendRefusesPrivateAddressUnlessAllowed(t *testing.T) {
	hits := 0
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	f := newFixture(t, rc.URL, nil)
	f.sender.Poster.Client = safehttp.NewClient(safehttp.Options{AllowPrivate: false})
	res := f.send(t, 1)
	if res.Outcome != attempt.Rejected || hits != 0 || !strings.Contains(res.Attempt.Error, "ALLOW_PRIVATE_ENDPOINTS") {
		t.Fatalf("result = %+v / %+v, hits %d", res, res.Attempt, hits)
	}
}

func TestSendCancelledWhenWebhookDisabledOrDeleted(t *testing.T) {
	hits := 0
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	disabled := newFixture(t, rc.URL, func(w *models.Webhook) { w.Enabled = false })
	if res := disabled.send(t, 1); res.Outcome != attempt.Cancelled || res.Attempt != nil {
		t.Fatalf("disabled: %+v", res)
	}
	deleted := newFixture(t, rc.URL, nil)
	if err := deleted.store.HardDeleteWebhook(t.Context(), deleted.webhook.ID); err != nil {
		t.Fatal(err)
	}
	if res := deleted.send(t, 1); res.Outcome != attempt.Cancelled {
		t.Fatalf("deleted: %+v", res)
	}
	if hits != 0 {
		t.Fatalf("receiver was called %d times", hits)
	}
	// A test may probe a disabled webhook.
	res, err := disabled.sender.Send(context.Background(), workflows.SendInput{DeliveryID: disabled.delivery.ID, Attempt: 1, Trigger: models.TriggerTest})
	if err != nil || res.Outcome != attempt.Success {
		t.Fatalf("test trigger on a disabled webhook: %+v %v", res, err)
	}
}

// TestSendHeldWhilePaused: a paused webhook's delivery is not sent; it
// holds (the workflow waits for a resume). A test still probes it.
func TestSendHeldWhilePaused(t *testing.T) {
	hits := 0
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { hits++ })
	f := newFixture(t, rc.URL, nil)
	if _, _, err := f.store.SetPaused(t.Context(), f.webhook.ID, true, "test"); err != nil {
		t.Fatal(err)
	}
	if res := f.send(t, 2); res.Outcome != attempt.Held || res.Attempt != nil || hits != 0 {
		t.Fatalf("paused: %+v, receiver called %d times", res, hits)
	}
	if d, _ := f.store.GetDelivery(t.Context(), f.delivery.ID); d.Status == models.DeliveryDelivering {
		t.Fatal("a held attempt marked the delivery delivering")
	}
	res, err := f.sender.Send(t.Context(), workflows.SendInput{DeliveryID: f.delivery.ID, Attempt: 1, Trigger: models.TriggerTest})
	if err != nil || res.Outcome != attempt.Success || hits != 1 {
		t.Fatalf("test trigger on a paused webhook: %+v %v (receiver called %d times)", res, err, hits)
	}
}

// TestSendProbeGoesThroughTheBreaker: while the circuit breaker holds a
// webhook, its probe (and only it) is sent; a failed probe answers held,
// with the attempt, so that the delivery waits with the others.
func TestSendProbeGoesThroughTheBreaker(t *testing.T) {
	var hits atomic.Int32
	status := atomic.Int32{}
	status.Store(503)
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.WriteHeader(int(status.Load())) })
	past := store.Now().Add(-time.Minute)
	f := newFixture(t, rc.URL, func(w *models.Webhook) {
		w.Paused, w.Status, w.AutoPausedReason, w.NextProbeAt = true, models.WebhookAutoPaused, "20 consecutive failed attempts", &past
	})
	if res := f.send(t, 1); res.Outcome != attempt.Held || hits.Load() != 0 {
		t.Fatalf("before any probe: %+v, receiver called %d times", res, hits.Load())
	}
	// The workflow records it held; the next probe takes it.
	if err := f.store.RecordAttempt(t.Context(), store.AttemptResult{DeliveryID: f.delivery.ID, WebhookID: f.webhook.ID,
		DeliveryStatus: models.DeliveryHeld}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.store.StartDueProbes(t.Context(), store.Now()); err != nil || n != 1 {
		t.Fatalf("probe: %d %v", n, err)
	}
	if res := f.send(t, 1); res.Outcome != attempt.Held || res.Attempt == nil || res.Attempt.StatusCode != 503 || hits.Load() != 1 {
		t.Fatalf("failed probe: %+v, receiver called %d times", res, hits.Load())
	}
	status.Store(200)
	if res := f.send(t, 2); res.Outcome != attempt.Success || hits.Load() != 2 {
		t.Fatalf("probe answered 200: %+v", res)
	}
}
