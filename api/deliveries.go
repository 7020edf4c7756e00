package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// deliveryReader reads one delivery with its attempts (and a batch's events).
type deliveryReader interface {
	GetDelivery(ctx context.Context, id string) (*models.Delivery, error)
	Attempts(ctx context.Context, deliveryID string) ([]models.Attempt, error)
	BatchEvents(ctx context.Context, deliveryID string) ([]models.Event, error)
}

// deliveryLister lists and counts deliveries (logs, the dead-letter queue).
type deliveryLister interface {
	ListDeliveries(ctx context.Context, q store.DeliveryQuery) ([]models.Delivery, error)
	CountDeliveries(ctx context.Context, q store.DeliveryQuery) (int64, error)
}

// replayer restarts a delivery's workflow (internal/dispatch).
type replayer interface {
	Replay(ctx context.Context, deliveryID string) (*models.Delivery, error)
}

// tester sends test events now and answers with their attempt
// (internal/dispatch).
type tester interface {
	Test(ctx context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error)
	TestUnsaved(ctx context.Context, w *models.Webhook, sample *dispatch.Sample) (*models.Delivery, *models.Attempt, error)
}

// deliveryJSON is one row of a delivery log.
type deliveryJSON struct {
	ID                 string  `json:"id"`
	TenantID           string  `json:"tenantId"`
	EventID            string  `json:"eventId"`
	EventType          string  `json:"eventType"`
	WebhookID          string  `json:"webhookId"`
	Status             string  `json:"status"`
	Trigger            string  `json:"trigger"`
	Attempts           int     `json:"attempts"`
	LastStatusCode     *int    `json:"lastStatusCode,omitempty"`
	LastResponseTimeMs *int64  `json:"lastResponseTimeMs,omitempty"`
	LastError          string  `json:"lastError,omitempty"`
	NextAttemptAt      *string `json:"nextAttemptAt,omitempty"`
	// WaitingFor is what the delivery waits for (rateLimit, concurrency,
	// retryAfter); absent when nothing holds it back.
	WaitingFor string `json:"waitingFor,omitempty"`
	// BatchSize counts the events of a batch delivery; absent otherwise.
	BatchSize int    `json:"batchSize,omitempty"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
}

func toDeliveryJSON(d *models.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID: d.ID, TenantID: d.TenantID, EventID: d.EventID, EventType: d.EventType, WebhookID: d.WebhookID,
		Status: string(d.Status), Trigger: string(d.Trigger), Attempts: d.AttemptCount,
		LastStatusCode: d.LastStatusCode, LastResponseTimeMs: d.LastDurationMs, LastError: d.LastError, BatchSize: d.BatchSize,
		WaitingFor: string(d.WaitingFor),
		CreatedAt:  isoTime(d.CreatedAt), UpdatedAt: isoTime(d.UpdatedAt),
	}
	if d.NextAttemptAt != nil {
		out.NextAttemptAt = ptr(isoTime(*d.NextAttemptAt))
	}
	return out
}

type attemptJSON struct {
	Number     int              `json:"number"`
	Trigger    string           `json:"trigger"`
	Request    attemptRequest   `json:"request"`
	Response   *attemptResponse `json:"response,omitempty"`
	DurationMs int64            `json:"durationMs"`
	Error      string           `json:"error,omitempty"`
	StartedAt  string           `json:"startedAt"`
	FinishedAt string           `json:"finishedAt"`
}

type attemptRequest struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

type attemptResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       string            `json:"body"`
}

func toAttemptJSON(a *models.Attempt) attemptJSON {
	out := attemptJSON{
		Number: a.Number, Trigger: string(a.Trigger),
		Request:    attemptRequest{URL: a.RequestURL, Headers: a.RequestHeaders},
		DurationMs: a.DurationMs, Error: a.Error, StartedAt: isoTime(a.StartedAt), FinishedAt: isoTime(a.FinishedAt),
	}
	if a.ResponseStatus != nil {
		out.Response = &attemptResponse{StatusCode: *a.ResponseStatus, Headers: a.ResponseHeaders, Body: a.ResponseBody}
	}
	return out
}

type deliveryDetail struct {
	deliveryJSON
	// BatchEventIDs are a batch's events, in the order they were sent.
	BatchEventIDs []string `json:"batchEventIds,omitempty"`
	// Sequence is set for a delivery of an ordered webhook.
	Sequence *sequenceJSON `json:"sequence,omitempty"`
	requestBody
	AttemptLog []attemptJSON `json:"attemptLog"`
}

// visibleDelivery reads :id; another tenant's delivery is not found.
func (s *server) visibleDelivery(c *gin.Context) (*models.Delivery, error) {
	d, err := s.store.GetDelivery(c.Request.Context(), c.Param("id"))
	if err != nil {
		return nil, notFoundAs(err, "delivery %s not found", c.Param("id"))
	}
	if !callerOf(c).sees(d.TenantID) {
		return nil, notFound("delivery %s not found", c.Param("id"))
	}
	return d, nil
}

func (s *server) getDelivery(c *gin.Context) {
	ctx := c.Request.Context()
	withBody, err := wantsBody(c)
	if err != nil {
		fail(c, err)
		return
	}
	d, err := s.visibleDelivery(c)
	if err != nil {
		fail(c, err)
		return
	}
	as, err := s.store.Attempts(ctx, d.ID)
	if err != nil {
		fail(c, err)
		return
	}
	out := deliveryDetail{deliveryJSON: toDeliveryJSON(d), AttemptLog: []attemptJSON{}}
	if d.BatchSize > 0 {
		evs, err := s.store.BatchEvents(ctx, d.ID)
		if err != nil {
			fail(c, err)
			return
		}
		for _, ev := range evs {
			out.BatchEventIDs = append(out.BatchEventIDs, ev.ID)
		}
	}
	for i := range as {
		out.AttemptLog = append(out.AttemptLog, toAttemptJSON(&as[i]))
	}
	if out.Sequence, err = s.sequenceOf(ctx, d); err != nil {
		fail(c, err)
		return
	}
	if withBody {
		if out.requestBody, err = s.requestBodyOf(ctx, d.ID); err != nil {
			fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, out)
}

type deliveryList struct {
	Data   []deliveryJSON `json:"data"`
	Paging struct {
		After string `json:"after,omitempty"`
	} `json:"paging"`
}

type deliveryCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

func (s *server) webhookDeliveries(c *gin.Context) {
	w, err := s.loadWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	q, err := deliveryQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	// Every list takes ?tenantId=; here it can only narrow to nothing.
	if q.TenantID, err = listTenant(c); err != nil {
		fail(c, err)
		return
	}
	q.WebhookID = w.ID
	s.listDeliveries(c, q)
}

func (s *server) listDeliveries(c *gin.Context, q store.DeliveryQuery) {
	limit := q.Limit
	q.Limit++
	ds, err := s.store.ListDeliveries(c.Request.Context(), q)
	if err != nil {
		fail(c, err)
		return
	}
	var out deliveryList
	out.Data = []deliveryJSON{}
	if len(ds) > limit {
		ds = ds[:limit]
		last := ds[limit-1]
		out.Paging.After = encodeCursor(deliveryCursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	for i := range ds {
		out.Data = append(out.Data, toDeliveryJSON(&ds[i]))
	}
	c.JSON(http.StatusOK, out)
}

// deliveryQuery reads ?status=&eventType=&since=&until=&limit=&after=.
func deliveryQuery(c *gin.Context) (store.DeliveryQuery, error) {
	var q store.DeliveryQuery
	var err error
	if q.Limit, err = limitParam(c); err != nil {
		return q, err
	}
	if v := c.Query("status"); v != "" {
		if !knownDeliveryStatus(v) {
			return q, badRequest("status: must be pending, held, delivering, awaitingRetry, succeeded, failed or cancelled")
		}
		q.Status = models.DeliveryStatus(v)
	}
	q.EventType = c.Query("eventType")
	if q.Since, err = timeParam(c, "since"); err != nil {
		return q, err
	}
	if q.Until, err = timeParam(c, "until"); err != nil {
		return q, err
	}
	if after := c.Query("after"); after != "" {
		var cur deliveryCursor
		if err := decodeCursor(after, &cur); err != nil {
			return q, err
		}
		if _, err := uuid.Parse(cur.ID); err != nil {
			return q, badRequest("after: not a cursor returned by this API")
		}
		q.AfterCreated, q.AfterID = cur.CreatedAt, cur.ID
	}
	return q, nil
}

func knownDeliveryStatus(v string) bool {
	return slices.Contains(models.DeliveryStatuses, models.DeliveryStatus(v))
}

func timeParam(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badRequest("%s: must be an RFC 3339 time such as 2024-01-15T10:30:00Z", name)
	}
	return t.UTC(), nil
}

// isoTime is the API's time format: ISO 8601, UTC, milliseconds.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *server) replayDelivery(c *gin.Context) {
	if _, err := s.visibleDelivery(c); err != nil {
		fail(c, err)
		return
	}
	d, err := s.dispatcher.Replay(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, notFoundAs(err, "delivery %s not found", c.Param("id")))
		return
	}
	c.JSON(http.StatusAccepted, toDeliveryJSON(d))
}

type testAnswer struct {
	Delivery deliveryJSON `json:"delivery"`
	Attempt  *attemptJSON `json:"attempt"`
}

// testEventJSON is an optional sample for a test: a realistic event of a
// type the webhook subscribes to.
type testEventJSON struct {
	EventType string          `json:"eventType,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// sample checks the sample is of a type the webhook w subscribes to: a test
// shows what a real delivery of the webhook would look like.
func (t *testEventJSON) sample(w *models.Webhook) (*dispatch.Sample, error) {
	if t == nil {
		return nil, nil
	}
	if t.EventType != "" && !eventTypePattern.MatchString(t.EventType) {
		return nil, invalid("eventType", "1-256 characters of A-Z a-z 0-9 _ . : / -")
	}
	if t.EventType != "" && !filter.SubscribesTo(w.EventFilters, t.EventType) {
		return nil, invalid("eventType", "the webhook's eventFilters do not take %q events", t.EventType)
	}
	return &dispatch.Sample{EventType: t.EventType, Data: nullable(t.Data)}, nil
}

// testWebhook sends a test event now (the webhook's default message, or the
// sample in the body) and answers with its attempt.
func (s *server) testWebhook(c *gin.Context) {
	w, err := s.loadLiveWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in testEventJSON // the sample is optional, so is the body
	given, err := decodeOptionalJSON(c, &in)
	if err != nil {
		fail(c, err)
		return
	}
	var sample *dispatch.Sample
	if given {
		sample, err = in.sample(w)
	}
	if err != nil {
		fail(c, err)
		return
	}
	d, a, err := s.dispatcher.Test(c.Request.Context(), w, sample)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerTest(c, d, a)
}

func (s *server) answerTest(c *gin.Context, d *models.Delivery, a *models.Attempt) {
	out := testAnswer{Delivery: toDeliveryJSON(d)}
	if a != nil {
		out.Attempt = ptr(toAttemptJSON(a))
	}
	c.JSON(http.StatusOK, out)
}

// unsavedTestJSON is a webhook as a create takes it, with an optional sample.
type unsavedTestJSON struct {
	webhookJSON
	TestEvent *testEventJSON `json:"testEvent,omitempty"`
}

// testUnsavedWebhook sends a test event to a webhook that is not stored
// (test the URL before saving it): the body is validated like a create, the
// request goes out exactly as a delivery's, through the same address checks,
// and nothing is stored.
func (s *server) testUnsavedWebhook(c *gin.Context) {
	var in unsavedTestJSON
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	w, err := s.newWebhook(c, in.webhookJSON)
	if err != nil {
		fail(c, err)
		return
	}
	sample, err := in.TestEvent.sample(w)
	if err != nil {
		fail(c, atIndex(err, "testEvent"))
		return
	}
	d, a, err := s.dispatcher.TestUnsaved(c.Request.Context(), w, sample)
	if err != nil {
		fail(c, err)
		return
	}
	s.answerTest(c, d, a)
}
