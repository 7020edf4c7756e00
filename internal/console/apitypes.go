package console

// The API's answers, as far as the pages read them (the API package's own
// types are private to it; these decode its JSON).

import (
	"encoding/json"
	"fmt"
	"time"
)

type apiWebhook struct {
	ID             string           `json:"id"`
	TenantID       string           `json:"tenantId"`
	Name           string           `json:"name"`
	Description    string           `json:"description"`
	WebhookType    string           `json:"webhookType"`
	Enabled        *bool            `json:"enabled"`
	Status         string           `json:"status"`
	Paused         *bool            `json:"paused"`
	EventFilters   []apiEventFilter `json:"eventFilters"`
	WebhookConfig  apiWebhookConfig `json:"webhookConfig"`
	FailureDetails *struct {
		LastFailedAt         *int64 `json:"lastFailedAt"`
		LastFailedStatusCode *int   `json:"lastFailedStatusCode"`
		LastFailedReason     string `json:"lastFailedReason"`
		NextAttempt          *int64 `json:"nextAttempt"`
		AutoPausedReason     string `json:"autoPausedReason"`
		NextProbe            *int64 `json:"nextProbe"`
	} `json:"failureDetails"`
	Version   float64 `json:"version"`
	UpdatedAt int64   `json:"updatedAt"`
	UpdatedBy string  `json:"updatedBy"`
}

func (w apiWebhook) IsEnabled() bool { return w.Enabled == nil || *w.Enabled }
func (w apiWebhook) IsPaused() bool  { return w.Paused != nil && *w.Paused }

// BreakerSummary describes the webhook's own circuit breaker settings, ""
// when it takes the defaults.
func (w apiWebhook) BreakerSummary() string {
	b := w.WebhookConfig.CircuitBreaker
	if b == nil {
		return ""
	}
	if b.Enabled != nil && !*b.Enabled {
		return "off"
	}
	failures, span := 20, "1h"
	if b.Failures != nil {
		failures = *b.Failures
	}
	if b.Span != "" {
		span = b.Span
	}
	return fmt.Sprintf("opens after %d failed attempts over %s", failures, span)
}

// NextProbe is when the circuit breaker's next probe is due, or "".
func (w apiWebhook) NextProbe() string {
	if w.FailureDetails == nil || w.FailureDetails.NextProbe == nil {
		return ""
	}
	return time.UnixMilli(*w.FailureDetails.NextProbe).UTC().Format("2006-01-02 15:04:05 UTC")
}

type apiEventFilter struct {
	EventType string   `json:"eventType"`
	Entities  []string `json:"entities,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	Filter    string   `json:"filter,omitempty"`
}

type apiWebhookConfig struct {
	Endpoint                string            `json:"endpoint"`
	SecretKey               string            `json:"secretKey"`
	PublicKey               string            `json:"publicKey"`
	Headers                 map[string]string `json:"headers"`
	Timeout                 *int              `json:"timeout"`
	PayloadFormat           string            `json:"payloadFormat"`
	RetrySchedule           []string          `json:"retrySchedule"`
	MaxConcurrency          *int              `json:"maxConcurrency"`
	RateLimit               *float64          `json:"rateLimit"`
	PayloadTemplate         string            `json:"payloadTemplate"`
	PreviousSecretExpiresAt *int64            `json:"previousSecretExpiresAt"`
	Ordering                *struct {
		Key         string `json:"key"`
		OnExhausted string `json:"onExhausted"`
	} `json:"ordering"`
	CircuitBreaker *struct {
		Enabled  *bool  `json:"enabled"`
		Failures *int   `json:"failures"`
		Span     string `json:"span"`
	} `json:"circuitBreaker"`
	SendToAdmins    bool `json:"sendToAdmins"`
	SendToOwners    bool `json:"sendToOwners"`
	SendToFollowers bool `json:"sendToFollowers"`
}

type apiPaging struct {
	After string `json:"after"`
	Total *int64 `json:"total"`
}

type apiWebhookList struct {
	Data   []apiWebhook `json:"data"`
	Paging apiPaging    `json:"paging"`
}

type apiDelivery struct {
	ID                 string   `json:"id"`
	TenantID           string   `json:"tenantId"`
	EventID            string   `json:"eventId"`
	EventType          string   `json:"eventType"`
	WebhookID          string   `json:"webhookId"`
	Status             string   `json:"status"`
	Trigger            string   `json:"trigger"`
	Attempts           int      `json:"attempts"`
	LastStatusCode     *int     `json:"lastStatusCode"`
	LastResponseTimeMs *int64   `json:"lastResponseTimeMs"`
	LastError          string   `json:"lastError"`
	NextAttemptAt      *string  `json:"nextAttemptAt"`
	BatchSize          int      `json:"batchSize"`
	BatchEventIDs      []string `json:"batchEventIds"`
	Sequence           *struct {
		Key        string `json:"key"`
		WaitingFor string `json:"waitingFor"`
		Skipped    bool   `json:"skipped"`
	} `json:"sequence"`
	CreatedAt  string       `json:"createdAt"`
	UpdatedAt  string       `json:"updatedAt"`
	AttemptLog []apiAttempt `json:"attemptLog"`
	// With ?include=body: the request body as sent, and since when the
	// webhook's settings it was rendered with are unchanged.
	RequestBody      *string `json:"requestBody"`
	RequestBodyAsOf  string  `json:"requestBodyAsOf"`
	RequestBodyError string  `json:"requestBodyError"`
}

type apiAttempt struct {
	Number  int    `json:"number"`
	Trigger string `json:"trigger"`
	Request struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"request"`
	Response *struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Body       string            `json:"body"`
	} `json:"response"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error"`
	StartedAt  string `json:"startedAt"`
	FinishedAt string `json:"finishedAt"`
}

type apiDeliveryList struct {
	Data   []apiDelivery `json:"data"`
	Paging apiPaging     `json:"paging"`
}

type apiStats struct {
	Attempts       int64    `json:"attempts"`
	Successes      int64    `json:"successes"`
	Failures       int64    `json:"failures"`
	SuccessRate    *float64 `json:"successRate"`
	ResponseTimeMs *struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"p50"`
		P95  float64 `json:"p95"`
	} `json:"responseTimeMs"`
	LastSuccessAt *string `json:"lastSuccessAt"`
	LastFailureAt *string `json:"lastFailureAt"`
	// EventFilters are what each filter did with the events of its types.
	EventFilters []apiFilterStats `json:"eventFilters"`
	Limits       apiLimits        `json:"limits"`
}

// apiLimits is the webhook's flow control now.
type apiLimits struct {
	MaxConcurrency int      `json:"maxConcurrency"`
	RateLimit      *float64 `json:"rateLimit"`
	InFlight       int64    `json:"inFlight"`
	CurrentRate    *float64 `json:"currentRate"`
	Throttled      int64    `json:"throttled"`
	Waiting        struct {
		RateLimit   int64 `json:"rateLimit"`
		Concurrency int64 `json:"concurrency"`
		RetryAfter  int64 `json:"retryAfter"`
	} `json:"waiting"`
}

type apiFilterStats struct {
	EventType string `json:"eventType"`
	Filter    string `json:"filter"`
	Seen      int64  `json:"seen"`
	Matched   int64  `json:"matched"`
}

// MatchedNothing reports a filter that was shown events of its types and
// let none through.
func (s apiFilterStats) MatchedNothing() bool { return s.Seen > 0 && s.Matched == 0 }

type apiEventType struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"tenantId"`
	Global      bool            `json:"global"`
	BuiltIn     bool            `json:"builtIn"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Examples    json.RawMessage `json:"examples"`
	Deprecated  bool            `json:"deprecated"`
	Validate    bool            `json:"validate"`
	Version     int64           `json:"version"`
	UpdatedAt   string          `json:"updatedAt"`
	UpdatedBy   string          `json:"updatedBy"`
}

// FirstExample is the type's first example, or nil.
func (t apiEventType) FirstExample() json.RawMessage {
	var list []json.RawMessage
	if json.Unmarshal(t.Examples, &list) != nil || len(list) == 0 {
		return nil
	}
	return list[0]
}

type apiEventTypeList struct {
	Data   []apiEventType `json:"data"`
	Paging apiPaging      `json:"paging"`
}

type apiTestAnswer struct {
	Delivery apiDelivery `json:"delivery"`
	Attempt  *apiAttempt `json:"attempt"`
}

type apiRotateAnswer struct {
	SecretKey               string `json:"secretKey"`
	PublicKey               string `json:"publicKey"`
	PreviousSecretExpiresAt string `json:"previousSecretExpiresAt"`
}

type apiDLQReplay struct {
	JobID    string   `json:"jobId"`
	TenantID string   `json:"tenantId"`
	Status   string   `json:"status"` // dryRun, running, completed, failed
	Matched  int      `json:"matched"`
	Replayed int      `json:"replayed"`
	Skipped  int      `json:"skipped"`
	Errors   []string `json:"errors"`
}

// Done counts the entries the job has handled.
func (j apiDLQReplay) Done() int { return j.Replayed + j.Skipped }

type apiTenant struct {
	TenantID        string           `json:"tenantId"`
	Webhooks        int64            `json:"webhooks"`
	DeletedWebhooks int64            `json:"deletedWebhooks"`
	Deliveries      map[string]int64 `json:"deliveries"`
}

type apiTenantList struct {
	Data   []apiTenant `json:"data"`
	Paging apiPaging   `json:"paging"`
}

type apiMinted struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}
