// Package activities holds the Temporal activities of webhookd: the side of a
// delivery that talks to the database and to the receiver.
package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// MaxResponseBody is how much of a receiver's answer an attempt keeps.
const MaxResponseBody = 64 << 10

// deliveryLoader is what Sender needs from the store.
type deliveryLoader interface {
	LoadDelivery(ctx context.Context, id string) (*store.DeliveryContext, error)
	MarkDelivering(ctx context.Context, id string) error
}

// Sender makes one attempt of a delivery: it builds the request of SPEC §3,
// posts it and reports the outcome. It never retries: the workflow owns the
// schedule.
type Sender struct {
	Store   deliveryLoader
	Client  *http.Client
	Version string
	Now     func() time.Time
}

// Send is registered as the SendWebhookRequest activity.
func (s *Sender) Send(ctx context.Context, in workflows.SendInput) (workflows.SendResult, error) {
	dc, err := s.Store.LoadDelivery(ctx, in.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		// The webhook was hard-deleted and its deliveries with it.
		return workflows.SendResult{Outcome: workflows.OutcomeCancelled}, nil
	}
	if err != nil {
		return workflows.SendResult{}, fmt.Errorf("load delivery: %w", err)
	}
	wh := dc.Webhook
	// A test may probe a disabled webhook before it is enabled; real
	// deliveries stop once their webhook is disabled or deleted.
	if wh.Deleted || (!wh.Enabled && in.Trigger != models.TriggerTest) {
		return workflows.SendResult{Outcome: workflows.OutcomeCancelled}, nil
	}
	if err := s.Store.MarkDelivering(ctx, in.DeliveryID); err != nil {
		return workflows.SendResult{}, fmt.Errorf("mark delivering: %w", err)
	}
	return s.post(ctx, dc, in), nil
}

func (s *Sender) post(ctx context.Context, dc *store.DeliveryContext, in workflows.SendInput) workflows.SendResult {
	started := s.Now()
	// The log and the history see the endpoint with its query values and
	// user info masked: tokens live there (Google Chat's ?key=&token=).
	rec := &workflows.AttemptRecord{Number: in.Attempt, Trigger: in.Trigger, RequestURL: redact.URL(dc.Webhook.Endpoint), StartedAt: started}
	finish := func(outcome workflows.Outcome, err error) workflows.SendResult {
		rec.FinishedAt = s.Now()
		rec.DurationMs = rec.FinishedAt.Sub(started).Milliseconds()
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = redact.URL(ue.URL)
			}
			rec.Error = err.Error()
		}
		return workflows.SendResult{Outcome: outcome, Attempt: rec}
	}

	req, err := s.buildRequest(ctx, dc, in.Attempt, started)
	if err != nil {
		return finish(workflows.OutcomeRejected, err)
	}
	rec.RequestHeaders = redact.Headers(req.Header)

	timeout := time.Duration(dc.Webhook.TimeoutSeconds) * time.Second
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := s.Client.Do(req.WithContext(reqCtx))
	if err != nil {
		switch {
		case errors.Is(err, safehttp.ErrBlockedAddress):
			return finish(workflows.OutcomeRejected, err)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return finish(workflows.OutcomeFailure, fmt.Errorf("no response within the webhook's %s timeout", timeout))
		}
		return finish(workflows.OutcomeFailure, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	rec.StatusCode = resp.StatusCode
	rec.ResponseHeaders = redact.Headers(resp.Header) // Set-Cookie and friends too
	rec.ResponseBody = storableText(body)

	res := finish(classify(resp.StatusCode), nil)
	if readErr != nil && res.Outcome == workflows.OutcomeSuccess {
		// The status line arrived in time; a body cut short does not undo it.
		rec.Error = "reading response body: " + readErr.Error()
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), rec.FinishedAt)
	}
	return res
}

func (s *Sender) buildRequest(ctx context.Context, dc *store.DeliveryContext, attempt int, now time.Time) (*http.Request, error) {
	ev, wh := dc.Event, dc.Webhook
	body, err := payload.Render(wh.WebhookType, wh.PayloadTemplate, payload.Message{
		ID: ev.ID, EventType: ev.Type, Timestamp: ev.Timestamp, IsTest: ev.IsTest, WebhookName: wh.Name,
		EntityType: ev.EntityType, Entity: ev.Entity, ChangeDescription: ev.ChangeDescription, Data: ev.Data,
	})
	if err != nil {
		return nil, fmt.Errorf("render body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	// The webhook's own headers first, so that the protocol headers below
	// always win (API validation refuses the reserved names anyway).
	for k, v := range wh.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "webhookd/"+s.Version)
	req.Header.Set("X-Webhook-ID", ev.ID)
	req.Header.Set("X-Event-Type", ev.Type)
	req.Header.Set("X-Webhook-Attempt", strconv.Itoa(attempt))
	if err := signing.Sign(req.Header, wh.SecretKey, ev.ID, now, body); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return req, nil
}

func classify(status int) workflows.Outcome {
	switch {
	case status >= 200 && status < 300:
		return workflows.OutcomeSuccess
	case status == http.StatusGone:
		return workflows.OutcomeGone
	}
	return workflows.OutcomeFailure
}

// parseRetryAfter reads delay-seconds or an HTTP date; junk means no hint.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(workflows.MaxRetryWait/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
