package payload

import "github.com/webhookd/webhookd/models"

// Format is a webhook's webhookConfig.payloadFormat: which of the bodies
// for its type it is sent.
type Format string

const (
	// FormatWebhookd is the default: the generic envelope for Generic and
	// template-less Custom webhooks, the chat message formats, Custom
	// templates. The empty Format means the same, so webhooks stored before
	// the setting existed are unchanged.
	FormatWebhookd Format = "webhookd"
	// FormatOpenMetadata is the body OpenMetadata's webhook docs show
	// (eventId, eventType, timestamp, entity, changeDescription,
	// webhookName, signature); see openMetadataBody. Generic webhooks only.
	FormatOpenMetadata Format = "openmetadata"
)

// Formats lists every accepted payloadFormat value, default first.
var Formats = []Format{FormatWebhookd, FormatOpenMetadata}

// FormatApplies reports whether a webhook of type t may use format f. The
// default applies to every type; openmetadata only to Generic, because the
// chat services accept only their own message formats and a Custom
// webhook's template decides its body (a template-less Custom webhook that
// wants the openmetadata body is a Generic webhook). Unknown formats apply
// to nothing.
func FormatApplies(t models.WebhookType, f Format) bool {
	switch f {
	case "", FormatWebhookd:
		return true
	case FormatOpenMetadata:
		return t == models.WebhookGeneric
	}
	return false
}
