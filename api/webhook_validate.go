package api

import (
	"fmt"
	"mime"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/models"
)

var webhookName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// reservedHeaders are set by webhookd on every request; a webhook may not
// override them.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true, "user-agent": true,
	"x-webhook-id": true, "x-event-type": true, "x-webhook-attempt": true, "x-webhook-signature": true,
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
}

// applyWebhook validates in and writes it onto w (a new or a stored webhook).
// Errors name the JSON field. Nothing is written to w unless all is valid.
func applyWebhook(in webhookJSON, w *models.Webhook, allowPrivate bool) error {
	if !webhookName.MatchString(in.Name) {
		return invalid("name", "must match ^[A-Za-z0-9_.-]{1,128}$")
	}
	if len(in.DisplayName) > 256 {
		return invalid("displayName", "at most 256 characters")
	}
	if len(in.Description) > 64<<10 {
		return invalid("description", "at most 64 KiB")
	}
	typ := models.WebhookType(in.WebhookType)
	if in.WebhookType == "" {
		return invalid("webhookType", "required: one of Generic, Slack, MSTeams, GoogleChat, Custom")
	}
	if !knownType(typ) {
		return invalid("webhookType", "unknown type %q: use Generic, Slack, MSTeams, GoogleChat or Custom", in.WebhookType)
	}
	batch := 10
	if in.BatchSize != nil {
		if *in.BatchSize < 1 || *in.BatchSize > 1000 {
			return invalid("batchSize", "must be from 1 to 1000")
		}
		batch = *in.BatchSize
	}
	filters := make([]models.EventFilter, len(in.EventFilters))
	for i, f := range in.EventFilters {
		filters[i] = models.EventFilter(f)
	}
	if err := filter.Validate(filters); err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		return invalid(field, "%s", msg)
	}
	cfg := in.WebhookConfig
	if cfg == nil {
		return invalid("webhookConfig", "required, with at least an endpoint")
	}
	if err := checkEndpoint(cfg.Endpoint, allowPrivate); err != nil {
		return err
	}
	secret := cfg.SecretKey
	if secret == secretMask {
		if w.SecretKey == "" {
			return invalid("webhookConfig.secretKey", "send the secret itself, not its mask")
		}
		secret = w.SecretKey // a read document sent back: keep the stored secret
	}
	if _, err := signing.Key(secret); err != nil {
		return invalid("webhookConfig.secretKey", "%v", err)
	}
	if err := checkHeaders(cfg.Headers); err != nil {
		return err
	}
	timeout := 10
	if cfg.Timeout != nil {
		if *cfg.Timeout < 1 || *cfg.Timeout > 60 {
			return invalid("webhookConfig.timeout", "must be from 1 to 60 seconds")
		}
		timeout = *cfg.Timeout
	}
	if cfg.PayloadTemplate != "" {
		if typ != models.WebhookCustom {
			return invalid("webhookConfig.payloadTemplate", "only Custom webhooks render a template")
		}
		if err := payload.ValidateTemplate(cfg.PayloadTemplate); err != nil {
			return invalid("webhookConfig.payloadTemplate", "%v", err)
		}
	}
	if err := checkReference("owner", in.Owner); err != nil {
		return err
	}
	if err := checkReference("domain", in.Domain); err != nil {
		return err
	}
	for i, tag := range in.Tags {
		if s, _ := tag["tagFQN"].(string); s == "" {
			return invalid(fmt.Sprintf("tags[%d].tagFQN", i), "required")
		}
	}

	w.Name, w.DisplayName, w.Description, w.WebhookType = in.Name, in.DisplayName, in.Description, typ
	w.Enabled = in.Enabled == nil || *in.Enabled
	w.BatchSize, w.EventFilters = batch, filters
	w.Endpoint, w.SecretKey, w.Headers, w.TimeoutSeconds = cfg.Endpoint, secret, cfg.Headers, timeout
	w.SendToAdmins, w.SendToOwners, w.SendToFollowers = isTrue(cfg.SendToAdmins), isTrue(cfg.SendToOwners), isTrue(cfg.SendToFollowers)
	w.PayloadTemplate = cfg.PayloadTemplate
	w.Owner, w.Tags, w.Domain = in.Owner, in.Tags, in.Domain
	return nil
}

func knownType(t models.WebhookType) bool {
	for _, k := range models.WebhookTypes {
		if k == t {
			return true
		}
	}
	return false
}

func isTrue(b *bool) bool { return b != nil && *b }

func checkEndpoint(raw string, allowPrivate bool) error {
	const field = "webhookConfig.endpoint"
	if raw == "" {
		return invalid(field, "required")
	}
	if len(raw) > 2048 {
		return invalid(field, "at most 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return invalid(field, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return invalid(field, "must not carry credentials; put them in webhookConfig.headers")
	}
	if strings.Contains(u.Hostname(), "%") {
		return invalid(field, "IPv6 zone identifiers (%%eth0) are not allowed in endpoints")
	}
	if allowPrivate {
		return nil
	}
	// The dialer refuses private addresses at connect time whatever the name
	// resolves to; refusing the obvious cases here gives the error at once.
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return invalid(field, "loopback hosts are refused (ALLOW_PRIVATE_ENDPOINTS=true allows them)")
	}
	if ip, err := netip.ParseAddr(host); err == nil && safehttp.IsBlocked(ip) {
		return invalid(field, "%s is a private, loopback or otherwise internal address (ALLOW_PRIVATE_ENDPOINTS=true allows it)", ip)
	}
	return nil
}

func checkHeaders(h map[string]string) error {
	for name, value := range h {
		field := "webhookConfig.headers." + name
		if !httpguts.ValidHeaderFieldName(name) {
			return invalid(field, "not a valid header name")
		}
		if !httpguts.ValidHeaderFieldValue(value) {
			return invalid(field, "value must not contain control characters or line breaks")
		}
		lower := strings.ToLower(name)
		if reservedHeaders[lower] {
			return invalid(field, "set by webhookd on every request; it cannot be overridden")
		}
		if lower == "content-type" {
			if mt, _, err := mime.ParseMediaType(value); err != nil || mt != "application/json" {
				return invalid(field, "bodies are JSON; only application/json is allowed")
			}
		}
	}
	return nil
}

// checkReference accepts OpenMetadata's entity reference: an object with a
// type and a name or id.
func checkReference(field string, ref map[string]any) error {
	if ref == nil {
		return nil
	}
	if s, _ := ref["type"].(string); s == "" {
		return invalid(field+".type", "required")
	}
	name, _ := ref["name"].(string)
	id, _ := ref["id"].(string)
	if name == "" && id == "" {
		return invalid(field+".name", "required (or id)")
	}
	return nil
}
