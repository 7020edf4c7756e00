package api

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// webhookJSON is a webhook as the API reads and writes it: OpenMetadata's
// webhook schema. Read-only fields are accepted on input (so a GET can be
// PUT back) and ignored.
type webhookJSON struct {
	ID string `json:"id,omitempty"`
	// TenantID is set at creation (from the tenant token, or by the admin)
	// and never changes.
	TenantID           string `json:"tenantId,omitempty"`
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
	DisplayName        string `json:"displayName,omitempty"`
	Description        string `json:"description,omitempty" input:"prose"`
	WebhookType        string `json:"webhookType"`
	Enabled            *bool  `json:"enabled,omitempty"`
	Status             string `json:"status,omitempty"`
	// Paused is read-only here: POST /webhooks/{id}/pause and /resume.
	Paused        *bool              `json:"paused,omitempty"`
	BatchSize     *int               `json:"batchSize,omitempty"`
	EventFilters  []eventFilterJSON  `json:"eventFilters"`
	WebhookConfig *webhookConfigJSON `json:"webhookConfig"`
	// FailureDetails is read-only (a receiver's error text): ignored, so
	// not checked, on input.
	FailureDetails *failureDetailsJSON `json:"failureDetails,omitempty" input:"-"`
	// Owner, tags and domain are OpenMetadata entity references; their
	// descriptions may span lines.
	Owner     map[string]any   `json:"owner,omitempty" input:"prose"`
	Tags      []map[string]any `json:"tags,omitempty" input:"prose"`
	Domain    map[string]any   `json:"domain,omitempty" input:"prose"`
	Version   float64          `json:"version,omitempty"`
	UpdatedAt int64            `json:"updatedAt,omitempty"`
	UpdatedBy string           `json:"updatedBy,omitempty"`
	Href      string           `json:"href,omitempty"`
	Deleted   *bool            `json:"deleted,omitempty"`
	// ChangeDescription is part of OpenMetadata's entity; accepted, not kept.
	ChangeDescription any `json:"changeDescription,omitempty" input:"-"`
}

type eventFilterJSON struct {
	EventType string   `json:"eventType"`
	Entities  []string `json:"entities,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	// Filter is a content filter, a CEL expression over the envelope.
	Filter string `json:"filter,omitempty" input:"prose"`
}

type webhookConfigJSON struct {
	Endpoint  string `json:"endpoint"`
	SecretKey string `json:"secretKey,omitempty"`
	// PublicKey (read-only) is the whpk_ key that verifies the v1a
	// signatures of a whsk_ secretKey.
	PublicKey       string            `json:"publicKey,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Timeout         *int              `json:"timeout,omitempty"`
	SendToAdmins    *bool             `json:"sendToAdmins,omitempty"`
	SendToOwners    *bool             `json:"sendToOwners,omitempty"`
	SendToFollowers *bool             `json:"sendToFollowers,omitempty"`
	// PayloadTemplate is webhookd's addition for Custom webhooks.
	PayloadTemplate string `json:"payloadTemplate,omitempty" input:"prose"`
	// Batching opts in to batched delivery (webhookd's addition): up to
	// batchSize events per request.
	Batching *batchingJSON `json:"batching,omitempty"`
	// PayloadFormat is the body's shape: webhookd (the envelope, default)
	// or openmetadata (the body OpenMetadata's docs show).
	PayloadFormat string `json:"payloadFormat,omitempty"`
	// RetrySchedule overrides the waits before each retry ("1m", "5m",
	// ...); absent means the default 1m, 5m, 15m, 1h, 4h, 12h.
	RetrySchedule []string `json:"retrySchedule,omitempty"`
	// CircuitBreaker overrides the breaker's defaults (20 failed attempts
	// over 1h) or turns it off; shown only when set.
	CircuitBreaker *circuitBreakerJSON `json:"circuitBreaker,omitempty"`
	// Ordering opts in to ordered delivery per key (webhookd's addition).
	Ordering *orderingJSON `json:"ordering,omitempty"`
	// MaxConcurrency caps requests in flight to the endpoint (default 10);
	// RateLimit caps requests per second (absent: no cap). A batch is one
	// request.
	MaxConcurrency *int     `json:"maxConcurrency,omitempty"`
	RateLimit      *float64 `json:"rateLimit,omitempty"`
	// Auth has webhookd authenticate with an OAuth2 token; reads mask its
	// clientSecret.
	Auth *authJSON `json:"auth,omitempty"`
	// TLS is the client certificate for mTLS; reads mask its clientKey.
	TLS *tlsJSON `json:"tls,omitempty"`
	// PreviousSecretExpiresAt (read-only, epoch ms) is when the secret
	// replaced by the last rotation stops signing requests.
	PreviousSecretExpiresAt *int64 `json:"previousSecretExpiresAt,omitempty"`
}

type authJSON struct {
	Type         string   `json:"type"`
	TokenURL     string   `json:"tokenUrl"`
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	Scopes       []string `json:"scopes,omitempty"`
	Audience     string   `json:"audience,omitempty"`
}

type tlsJSON struct {
	// PEM spans lines.
	ClientCertificate string `json:"clientCertificate" input:"prose"`
	ClientKey         string `json:"clientKey" input:"prose"`
	// ExpiresAt (read-only, epoch ms) is when the certificate expires.
	ExpiresAt *int64 `json:"expiresAt,omitempty"`
}

type batchingJSON struct {
	Enabled   bool `json:"enabled"`
	MaxWaitMs *int `json:"maxWaitMs,omitempty"`
}

type failureDetailsJSON struct {
	LastFailedAt         *int64 `json:"lastFailedAt,omitempty"`
	LastFailedStatusCode *int   `json:"lastFailedStatusCode,omitempty"`
	LastFailedReason     string `json:"lastFailedReason,omitempty"`
	NextAttempt          *int64 `json:"nextAttempt,omitempty"`
	// Set while the circuit breaker holds the webhook (status autoPaused):
	// why, since when, and when the next probe is due (epoch ms).
	AutoPausedReason string `json:"autoPausedReason,omitempty"`
	AutoPausedAt     *int64 `json:"autoPausedAt,omitempty"`
	NextProbe        *int64 `json:"nextProbe,omitempty"`
}

type orderingJSON struct {
	Key         string `json:"key"`
	OnExhausted string `json:"onExhausted,omitempty"`
}

type circuitBreakerJSON struct {
	Enabled  *bool  `json:"enabled,omitempty"`
	Failures *int   `json:"failures,omitempty"`
	Span     string `json:"span,omitempty"`
}

// secretMask replaces secretKey, the value of every credential header
// (Authorization, X-API-Key, ...), and the endpoint's query values and user
// info, in every read. Sending it back unchanged
// (PUT or PATCH of a read document) keeps the stored value (the webhooks
// service sees to that).
const secretMask = redact.Mask

// toWebhookJSON renders a stored webhook; href is its absolute URL.
func toWebhookJSON(w *models.Webhook, href string) webhookJSON {
	out := webhookJSON{
		ID: w.ID, TenantID: w.TenantID, Name: w.Name, FullyQualifiedName: w.Name, DisplayName: w.DisplayName,
		Description: w.Description, WebhookType: string(w.WebhookType), Enabled: ptr(w.Enabled), Paused: ptr(w.Paused),
		Status: string(w.Status), BatchSize: ptr(w.BatchSize), Owner: w.Owner, Tags: w.Tags, Domain: w.Domain,
		Version: w.Version, UpdatedAt: w.UpdatedAt.UnixMilli(), UpdatedBy: w.UpdatedBy, Href: href,
		Deleted: ptr(w.Deleted),
		WebhookConfig: &webhookConfigJSON{
			Endpoint: redact.Endpoint(w.Endpoint), Headers: w.Headers, Timeout: ptr(w.TimeoutSeconds),
			SendToAdmins: ptr(w.SendToAdmins), SendToOwners: ptr(w.SendToOwners), SendToFollowers: ptr(w.SendToFollowers),
			PayloadTemplate: w.PayloadTemplate, MaxConcurrency: ptr(cmp.Or(w.MaxConcurrency, store.DefaultMaxConcurrency)),
		},
	}
	if w.RateLimit > 0 {
		out.WebhookConfig.RateLimit = ptr(w.RateLimit)
	}
	if w.SecretKey != "" {
		out.WebhookConfig.SecretKey = secretMask
		out.WebhookConfig.PublicKey = signing.PublicKey(w.SecretKey)
	}
	out.WebhookConfig.Headers = maskedHeaders(w.Headers)
	if w.PayloadFormat != "" && w.PayloadFormat != string(payload.FormatWebhookd) {
		out.WebhookConfig.PayloadFormat = w.PayloadFormat
	}
	for _, ms := range w.RetrySchedule {
		out.WebhookConfig.RetrySchedule = append(out.WebhookConfig.RetrySchedule, formatWait(time.Duration(ms)*time.Millisecond))
	}
	if w.PreviousSecretExpiresAt != nil && w.PreviousSecretExpiresAt.After(time.Now()) {
		out.WebhookConfig.PreviousSecretExpiresAt = millis(w.PreviousSecretExpiresAt)
	}
	if a := w.Auth; a != nil {
		out.WebhookConfig.Auth = &authJSON{Type: a.Type, TokenURL: a.TokenURL, ClientID: a.ClientID, ClientSecret: secretMask, Scopes: a.Scopes, Audience: a.Audience}
	}
	if w.ClientCertificate != "" {
		out.WebhookConfig.TLS = &tlsJSON{ClientCertificate: w.ClientCertificate, ClientKey: secretMask}
		if exp := webhooks.CertificateExpiry(w.ClientCertificate); !exp.IsZero() {
			out.WebhookConfig.TLS.ExpiresAt = millis(&exp)
		}
	}
	if w.BatchEnabled {
		out.WebhookConfig.Batching = &batchingJSON{Enabled: true, MaxWaitMs: ptr(w.BatchMaxWaitMs)}
	}
	for _, f := range w.EventFilters {
		out.EventFilters = append(out.EventFilters, eventFilterJSON(f))
	}
	out.WebhookConfig.CircuitBreaker = toCircuitBreakerJSON(w)
	if w.OrderingKey != "" {
		out.WebhookConfig.Ordering = &orderingJSON{Key: w.OrderingKey, OnExhausted: w.OrderingOnExhausted}
	}
	if w.LastFailedAt != nil || w.NextAttempt != nil || w.LastFailedReason != "" || w.AutoPausedReason != "" {
		out.FailureDetails = &failureDetailsJSON{
			LastFailedAt: millis(w.LastFailedAt), LastFailedStatusCode: w.LastFailedStatusCode,
			LastFailedReason: w.LastFailedReason, NextAttempt: millis(w.NextAttempt),
		}
		if w.AutoPausedReason != "" {
			out.FailureDetails.AutoPausedReason = w.AutoPausedReason
			out.FailureDetails.AutoPausedAt, out.FailureDetails.NextProbe = millis(w.PausedAt), millis(w.NextProbeAt)
		}
	}
	return out
}

// toCircuitBreakerJSON shows a webhook's own breaker settings, nil when it
// takes the defaults.
func toCircuitBreakerJSON(w *models.Webhook) *circuitBreakerJSON {
	if !w.BreakerOff && w.BreakerFailures == 0 && w.BreakerSpanMs == 0 {
		return nil
	}
	out := &circuitBreakerJSON{Enabled: ptr(!w.BreakerOff)}
	if w.BreakerFailures > 0 {
		out.Failures = ptr(w.BreakerFailures)
	}
	if w.BreakerSpanMs > 0 {
		out.Span = formatWait(time.Duration(w.BreakerSpanMs) * time.Millisecond)
	}
	return out
}

// spec is what the webhooks service validates and stores: the document
// without its read-only fields.
func (in webhookJSON) spec() webhooks.Spec {
	out := webhooks.Spec{
		Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, WebhookType: in.WebhookType,
		Enabled: in.Enabled, BatchSize: in.BatchSize, Owner: in.Owner, Tags: in.Tags, Domain: in.Domain,
		EventFilters: make([]models.EventFilter, len(in.EventFilters)),
	}
	for i, f := range in.EventFilters {
		out.EventFilters[i] = models.EventFilter(f)
	}
	if cfg := in.WebhookConfig; cfg != nil {
		out.Config = &webhooks.Config{
			Endpoint: cfg.Endpoint, SecretKey: cfg.SecretKey, Headers: cfg.Headers, Timeout: cfg.Timeout,
			SendToAdmins: cfg.SendToAdmins, SendToOwners: cfg.SendToOwners, SendToFollowers: cfg.SendToFollowers,
			PayloadTemplate: cfg.PayloadTemplate, PayloadFormat: cfg.PayloadFormat, RetrySchedule: cfg.RetrySchedule,
			MaxConcurrency: cfg.MaxConcurrency, RateLimit: cfg.RateLimit,
		}
		if a := cfg.Auth; a != nil {
			out.Config.Auth = &webhooks.Auth{Type: a.Type, TokenURL: a.TokenURL, ClientID: a.ClientID, ClientSecret: a.ClientSecret, Scopes: a.Scopes, Audience: a.Audience}
		}
		if t := cfg.TLS; t != nil {
			out.Config.TLS = &webhooks.TLS{ClientCertificate: t.ClientCertificate, ClientKey: t.ClientKey}
		}
		if b := cfg.Batching; b != nil {
			out.Config.Batching = &webhooks.Batching{Enabled: b.Enabled, MaxWaitMs: b.MaxWaitMs}
		}
		if o := cfg.Ordering; o != nil {
			out.Config.Ordering = &webhooks.Ordering{Key: o.Key, OnExhausted: o.OnExhausted}
		}
		if b := cfg.CircuitBreaker; b != nil {
			out.Config.CircuitBreaker = &webhooks.CircuitBreaker{Enabled: b.Enabled, Failures: b.Failures, Span: b.Span}
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func millis(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	return ptr(t.UnixMilli())
}

// maskedHeaders shows credential header values as the mask.
func maskedHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if redact.IsCredential(k) {
			v = secretMask
		}
		out[k] = v
	}
	return out
}

// formatWait writes a wait compactly: 10s, 5m, 1h, 1h30m, 1m30s.
func formatWait(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
