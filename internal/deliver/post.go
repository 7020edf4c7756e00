// Package deliver makes one attempt of a delivery: it builds the outbound
// request (body, headers, signatures), posts it through the SSRF-safe
// client and reports what happened. It reads nothing from the database:
// the send activity loads what it needs, and the API tests an unsaved
// webhook with it.
package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
)

// MaxResponseBody is how much of a receiver's answer an attempt keeps.
const MaxResponseBody = 64 << 10

// Poster sends attempts. It never retries: the workflow owns the schedule.
type Poster struct {
	Client *http.Client
	// ClientWith builds a client like Client with this TLS configuration:
	// a webhook's client certificate (mTLS). nil refuses such webhooks.
	ClientWith func(*tls.Config) *http.Client
	Version    string
	Now        func() time.Time
	// Log, when set, warns of attempts whose request could not be built.
	Log *slog.Logger

	clients clientCache
	tokens  tokenCache
}

// Request is one attempt to send.
type Request struct {
	Webhook *models.Webhook
	// Event is the event of a one-event delivery; a batch has Batch (its
	// events in order), BatchID and BatchOpened instead.
	Event       *models.Event
	Batch       []models.Event
	BatchID     string
	BatchOpened time.Time
	TenantID    string
	Attempt     int
	Trigger     models.Trigger
}

// Post makes the attempt and reports its outcome; a request that cannot be
// built or an address that is refused is attempt.Rejected.
func (p *Poster) Post(ctx context.Context, r Request) attempt.Result {
	started := p.Now()
	// The log and the history see the endpoint with its query values and
	// user info masked: tokens live there (Google Chat's ?key=&token=).
	rec := &attempt.Record{Number: r.Attempt, Trigger: r.Trigger, RequestURL: redact.URL(r.Webhook.Endpoint), StartedAt: started}
	finish := func(outcome attempt.Outcome, err error) attempt.Result {
		rec.FinishedAt = p.Now()
		rec.DurationMs = rec.FinishedAt.Sub(started).Milliseconds()
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.URL = redact.URL(ue.URL)
			}
			// A token endpoint may echo what it was sent.
			rec.Error = scrub(err.Error(), credentials(r.Webhook, ""))
		}
		return attempt.Result{Outcome: outcome, Attempt: rec}
	}

	// The webhook's timeout covers rendering the body too: a Custom
	// template that runs long ends the attempt, within that time.
	timeout := time.Duration(r.Webhook.TimeoutSeconds) * time.Second
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := p.buildRequest(reqCtx, r, started)
	if err != nil {
		outcome := buildFailure(ctx, err)
		if p.Log != nil && ctx.Err() == nil {
			// The attempt log has the error too; operators watching the
			// worker see a template that keeps failing before the DLQ does.
			// Never the body or the data: only what failed.
			p.Log.Warn("delivery attempt not sent: its request could not be built", "webhook", r.Webhook.ID,
				"attempt", r.Attempt, "outcome", outcome, "renderTime", errors.Is(err, payload.ErrRenderTime), "err", err)
		}
		return finish(outcome, err)
	}
	resp, token, err := p.send(reqCtx, req, r.Webhook)
	rec.RequestHeaders = redact.Headers(req.Header)
	if err != nil {
		var tokenErr *tokenError
		switch {
		case errors.Is(err, safehttp.ErrBlockedAddress) || errors.Is(err, errClientCertificate):
			return finish(attempt.Rejected, err)
		case errors.As(err, &tokenErr):
			// Recorded in the attempt (the secret scrubbed) and retried on
			// the webhook's schedule, like a receiver that is down.
			return finish(attempt.Failure, err)
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return finish(attempt.Failure, fmt.Errorf("no response within the webhook's %s timeout", timeout))
		}
		return finish(attempt.Failure, err)
	}
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody))
	rec.StatusCode = resp.StatusCode
	rec.ResponseHeaders = redact.Headers(resp.Header) // Set-Cookie and friends too
	rec.ResponseBody = storableText(body)
	// Receivers that echo the request (httpbin, request inspectors: likely
	// targets of a test) would put the webhook's credentials in the log.
	if creds := credentials(r.Webhook, token); len(creds) > 0 {
		rec.ResponseBody = scrub(rec.ResponseBody, creds)
		for k, v := range rec.ResponseHeaders {
			rec.ResponseHeaders[k] = scrub(v, creds)
		}
	}

	res := finish(classify(resp.StatusCode), nil)
	if readErr != nil && res.Outcome == attempt.Success {
		// The status line arrived in time; a body cut short does not undo it.
		rec.Error = "reading response body: " + readErr.Error()
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), rec.FinishedAt)
	}
	return res
}

func (p *Poster) buildRequest(ctx context.Context, r Request, now time.Time) (*http.Request, error) {
	wh := r.Webhook
	keys := signingSecrets(wh, now)
	msgID, eventType, body, err := renderBody(ctx, r, keys)
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
	req.Header.Set("User-Agent", "webhookd/"+p.Version)
	req.Header.Set("X-Webhook-ID", msgID)
	req.Header.Set("X-Event-Type", eventType)
	req.Header.Set("X-Webhook-Attempt", strconv.Itoa(r.Attempt))
	tracing.Inject(ctx, req.Header) // the attempt's span, when tracing is on
	if r.Batch != nil {
		req.Header.Set("X-Webhook-Batch-Size", strconv.Itoa(len(r.Batch)))
	}
	if err := signing.Sign(req.Header, keys, msgID, now, body); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if payload.Format(wh.PayloadFormat) == payload.FormatOpenMetadata {
		signing.SignOpenMetadata(req.Header, signing.Shared(keys), body)
	}
	return req, nil
}

// signingSecrets are the secrets that sign now: the current one, and each
// secret a rotation replaced until its own grace period ends, newest first.
func signingSecrets(wh *models.Webhook, now time.Time) []string {
	keys := []string{wh.SecretKey}
	for _, p := range wh.PreviousSecrets {
		if p.Key != "" && now.Before(p.ExpiresAt) {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// newestShared is the newest HMAC secret (the openmetadata body's signature
// field needs one): a whsk_ signing key cannot key an HMAC a receiver
// checks.
func newestShared(keys []string) string {
	if shared := signing.Shared(keys); len(shared) > 0 {
		return shared[0]
	}
	return ""
}

// renderBody returns the body and the id and type it is sent under: the
// event's, or for a batch the batch delivery's id and "webhookd.batch".
func renderBody(ctx context.Context, r Request, keys []string) (msgID, eventType string, body []byte, err error) {
	wh := r.Webhook
	if r.Batch == nil {
		ev := r.Event
		body, err = payload.Render(ctx, wh.WebhookType, payload.Options{
			Format: payload.Format(wh.PayloadFormat), Template: wh.PayloadTemplate, Secret: newestShared(keys),
		}, message(ev, wh.Name))
		return ev.ID, ev.Type, body, err
	}
	b := payload.Batch{ID: r.BatchID, TenantID: r.TenantID, Timestamp: r.BatchOpened, WebhookName: wh.Name}
	for i := range r.Batch {
		b.Events = append(b.Events, message(&r.Batch[i], wh.Name))
	}
	body, err = payload.RenderBatch(b)
	return r.BatchID, models.BatchEventType, body, err
}

func message(ev *models.Event, webhookName string) payload.Message {
	return payload.Message{
		ID: ev.ID, TenantID: ev.TenantID, EventType: ev.Type, Timestamp: ev.Timestamp, IsTest: ev.IsTest, WebhookName: webhookName,
		EntityType: ev.EntityType, Entity: ev.Entity, ChangeDescription: ev.ChangeDescription, Data: ev.Data,
	}
}

// buildFailure classifies a request that could not be built. Stopped (the
// worker shutting down), out of render time (the machine may be busier
// than the template is slow) or out of render slots may pass next time: a
// failed attempt, retried on the webhook's schedule and sent to the DLQ
// after the last. What fails the same way every time (a template over its
// steps or output, a bad URL) is rejected at once. Either way the attempt
// log says why.
func buildFailure(ctx context.Context, err error) attempt.Outcome {
	switch {
	case ctx.Err() != nil, errors.Is(err, payload.ErrRenderTime), errors.Is(err, payload.ErrRenderBusy):
		return attempt.Failure
	}
	return attempt.Rejected
}

func classify(status int) attempt.Outcome {
	switch {
	case status >= 200 && status < 300:
		return attempt.Success
	case status == http.StatusGone:
		return attempt.Gone
	}
	return attempt.Failure
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
		return time.Duration(min(secs, int64(attempt.MaxRetryWait/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

// storableText keeps a response body printable in both databases:
// PostgreSQL text refuses NUL bytes and invalid UTF-8.
func storableText(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// minCredential is the shortest value scrub looks for: shorter ones would
// mask ordinary words of a response.
const minCredential = 8

// credentials are the webhook's secret values as they may appear in an
// echoed request: the signing secrets, the endpoint's query values and user
// info (as written and decoded), and each credential header's value with
// its words (the token of "Bearer <token>").
func credentials(wh *models.Webhook, token string) []string {
	var out []string
	add := func(v string) {
		if len(v) >= minCredential {
			out = append(out, v)
		}
	}
	add(wh.SecretKey)
	add(token)
	if a := wh.Auth; a != nil {
		// A token endpoint that echoes its request shows the secret as
		// sent: form-encoded in the body, or in the Basic header
		// (golang.org/x/oauth2 form-encodes both halves before base64).
		add(a.ClientSecret)
		add(url.QueryEscape(a.ClientSecret))
		add(base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(a.ClientID) + ":" + url.QueryEscape(a.ClientSecret))))
	}
	for _, v := range redact.URLCredentials(wh.Endpoint) {
		add(v)
	}
	for _, p := range wh.PreviousSecrets {
		add(p.Key)
	}
	for name, v := range wh.Headers {
		if redact.IsCredential(name) {
			add(v)
			for _, word := range strings.Fields(v) {
				add(word)
			}
		}
	}
	// Longest first: a whole header value before its token.
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// scrub replaces every occurrence of the credentials (longest first) in s
// with the mask.
func scrub(s string, creds []string) string {
	for _, c := range creds {
		s = strings.ReplaceAll(s, c, redact.Mask)
	}
	return s
}
