package api

import (
	"math"
	"time"

	"github.com/webhookd/webhookd/models"
)

// webhookJSON is a webhook as the API reads and writes it: OpenMetadata's
// webhook schema. Read-only fields are accepted on input (so a GET can be
// PUT back) and ignored.
type webhookJSON struct {
	ID                 string              `json:"id,omitempty"`
	Name               string              `json:"name"`
	FullyQualifiedName string              `json:"fullyQualifiedName,omitempty"`
	DisplayName        string              `json:"displayName,omitempty"`
	Description        string              `json:"description,omitempty"`
	WebhookType        string              `json:"webhookType"`
	Enabled            *bool               `json:"enabled,omitempty"`
	Status             string              `json:"status,omitempty"`
	BatchSize          *int                `json:"batchSize,omitempty"`
	EventFilters       []eventFilterJSON   `json:"eventFilters"`
	WebhookConfig      *webhookConfigJSON  `json:"webhookConfig"`
	FailureDetails     *failureDetailsJSON `json:"failureDetails,omitempty"`
	Owner              map[string]any      `json:"owner,omitempty"`
	Tags               []map[string]any    `json:"tags,omitempty"`
	Domain             map[string]any      `json:"domain,omitempty"`
	Version            float64             `json:"version,omitempty"`
	UpdatedAt          int64               `json:"updatedAt,omitempty"`
	UpdatedBy          string              `json:"updatedBy,omitempty"`
	Href               string              `json:"href,omitempty"`
	Deleted            *bool               `json:"deleted,omitempty"`
	// ChangeDescription is part of OpenMetadata's entity; accepted, not kept.
	ChangeDescription any `json:"changeDescription,omitempty"`
}

type eventFilterJSON struct {
	EventType string   `json:"eventType"`
	Entities  []string `json:"entities,omitempty"`
	Include   []string `json:"include,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
}

type webhookConfigJSON struct {
	Endpoint        string            `json:"endpoint"`
	SecretKey       string            `json:"secretKey,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Timeout         *int              `json:"timeout,omitempty"`
	SendToAdmins    *bool             `json:"sendToAdmins,omitempty"`
	SendToOwners    *bool             `json:"sendToOwners,omitempty"`
	SendToFollowers *bool             `json:"sendToFollowers,omitempty"`
	// PayloadTemplate is webhookd's addition for Custom webhooks.
	PayloadTemplate string `json:"payloadTemplate,omitempty"`
}

type failureDetailsJSON struct {
	LastFailedAt         *int64 `json:"lastFailedAt,omitempty"`
	LastFailedStatusCode *int   `json:"lastFailedStatusCode,omitempty"`
	LastFailedReason     string `json:"lastFailedReason,omitempty"`
	NextAttempt          *int64 `json:"nextAttempt,omitempty"`
}

// secretMask replaces secretKey in every read. Sending it back unchanged
// (PUT or PATCH of a read document) keeps the stored secret.
const secretMask = "********"

// toWebhookJSON renders a stored webhook; href is its absolute URL.
func toWebhookJSON(w *models.Webhook, href string) webhookJSON {
	out := webhookJSON{
		ID: w.ID, Name: w.Name, FullyQualifiedName: w.Name, DisplayName: w.DisplayName,
		Description: w.Description, WebhookType: string(w.WebhookType), Enabled: ptr(w.Enabled),
		Status: string(w.Status), BatchSize: ptr(w.BatchSize), Owner: w.Owner, Tags: w.Tags, Domain: w.Domain,
		Version: w.Version, UpdatedAt: w.UpdatedAt.UnixMilli(), UpdatedBy: w.UpdatedBy, Href: href,
		Deleted: ptr(w.Deleted),
		WebhookConfig: &webhookConfigJSON{
			Endpoint: w.Endpoint, Headers: w.Headers, Timeout: ptr(w.TimeoutSeconds),
			SendToAdmins: ptr(w.SendToAdmins), SendToOwners: ptr(w.SendToOwners), SendToFollowers: ptr(w.SendToFollowers),
			PayloadTemplate: w.PayloadTemplate,
		},
	}
	if w.SecretKey != "" {
		out.WebhookConfig.SecretKey = secretMask
	}
	for _, f := range w.EventFilters {
		out.EventFilters = append(out.EventFilters, eventFilterJSON(f))
	}
	if w.LastFailedAt != nil || w.NextAttempt != nil || w.LastFailedReason != "" {
		out.FailureDetails = &failureDetailsJSON{
			LastFailedAt: millis(w.LastFailedAt), LastFailedStatusCode: w.LastFailedStatusCode,
			LastFailedReason: w.LastFailedReason, NextAttempt: millis(w.NextAttempt),
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

// nextVersion follows OpenMetadata: versions start at 0.1 and each change
// adds 0.1 (rounded so that float error never shows).
func nextVersion(v float64) float64 { return math.Round(v*10+1) / 10 }
