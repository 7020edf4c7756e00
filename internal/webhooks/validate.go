package webhooks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

var webhookName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// reservedHeaders are set by webhookd on every request; a webhook may not
// override them.
var reservedHeaders = map[string]bool{
	"host": true, "content-length": true, "transfer-encoding": true, "connection": true, "user-agent": true,
	"x-webhook-id": true, "x-event-type": true, "x-webhook-attempt": true, "x-webhook-signature": true,
	"x-webhook-batch-size": true, "x-openmetadata-signature": true,
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
}

// apply validates in and writes it onto w (a new or a stored webhook).
// Every problem found is reported at once (a FieldErrors), so a form can
// show them all; a check that depends on a field already found wrong is
// skipped rather than reported twice. Nothing is written to w unless all
// is valid. A Custom template is rendered twice (payload.ValidateTemplate),
// within what ctx's request may spend on renders; a render that cannot get
// a slot is payload.ErrRenderBusy, returned alone, not a field's problem.
func apply(ctx context.Context, in Spec, w *models.Webhook, allowPrivate bool) error {
	var errs problems
	if !webhookName.MatchString(in.Name) {
		errs.add(invalid("name", "must match ^[A-Za-z0-9_.-]{1,128}$"))
	}
	if len(in.DisplayName) > 256 {
		errs.add(invalid("displayName", "at most 256 characters"))
	}
	if len(in.Description) > 64<<10 {
		errs.add(invalid("description", "at most 64 KiB"))
	}
	typ := models.WebhookType(in.WebhookType)
	typeKnown := knownType(typ)
	if in.WebhookType == "" {
		errs.add(invalid("webhookType", "required: one of Generic, Slack, MSTeams, GoogleChat, Custom"))
	} else if !typeKnown {
		errs.add(invalid("webhookType", "unknown type %q: use Generic, Slack, MSTeams, GoogleChat or Custom", in.WebhookType))
	}
	batch := 10
	if in.BatchSize != nil {
		if *in.BatchSize < 1 || *in.BatchSize > 1000 {
			errs.add(invalid("batchSize", "must be from 1 to 1000"))
		}
		batch = *in.BatchSize
	}
	filters := make([]models.EventFilter, len(in.EventFilters))
	copy(filters, in.EventFilters)
	if err := filter.Validate(filters); err != nil {
		var fe *filter.FieldError
		if !errors.As(err, &fe) {
			return err
		}
		errs.add(invalid(fe.Path, "%s", fe.Msg))
	}
	cfg := in.Config
	if cfg == nil {
		errs.add(invalid("webhookConfig", "required, with at least an endpoint"))
		return errs.err()
	}
	endpoint, err := unmaskEndpoint(cfg.Endpoint, w.Endpoint)
	if errs.add(err) {
		errs.add(checkEndpoint(endpoint, allowPrivate))
	}
	keep := credentialsFollow(w.Endpoint, endpoint)
	secret := cfg.SecretKey
	masked := secret == redact.Mask
	if masked {
		secret = w.SecretKey // a read document sent back: keep the stored secret
	}
	if masked && secret == "" {
		errs.add(invalid("webhookConfig.secretKey", "send the secret itself, not its mask"))
	} else if err := signing.Check(secret); err != nil {
		errs.add(invalid("webhookConfig.secretKey", "%v", err))
	}
	headers := cfg.Headers
	if errs.add(checkHeaders(cfg.Headers)) {
		headers, err = unmaskHeaders(cfg.Headers, w.Headers, keep)
		errs.add(err)
	}
	auth, err := checkAuth(cfg.Auth, w, endpoint, headers, allowPrivate)
	errs.add(err)
	cert, key, err := checkTLS(cfg.TLS, w, endpoint, time.Now())
	errs.add(err)
	format := payload.FormatWebhookd
	if cfg.PayloadFormat != "" {
		format = payload.Format(cfg.PayloadFormat)
		if !slices.Contains(payload.Formats, format) {
			errs.add(invalid("webhookConfig.payloadFormat", "unknown format %q: use webhookd or openmetadata", cfg.PayloadFormat))
		} else if typeKnown && !payload.FormatApplies(typ, format) {
			errs.add(invalid("webhookConfig.payloadFormat", "%s applies to Generic webhooks only", format))
		}
	}
	schedule, err := parseRetrySchedule(cfg.RetrySchedule)
	errs.add(err)
	timeout := 10
	if cfg.Timeout != nil {
		if *cfg.Timeout < 1 || *cfg.Timeout > 60 {
			errs.add(invalid("webhookConfig.timeout", "must be from 1 to 60 seconds"))
		}
		timeout = *cfg.Timeout
	}
	if cfg.PayloadTemplate != "" {
		if typeKnown && typ != models.WebhookCustom {
			errs.add(invalid("webhookConfig.payloadTemplate", "only Custom webhooks render a template"))
		} else if err := payload.ValidateTemplate(ctx, w.TenantID, cfg.PayloadTemplate); errors.Is(err, payload.ErrRenderBusy) {
			return err
		} else if err != nil {
			errs.add(invalid("webhookConfig.payloadTemplate", "%v", err))
		}
	}
	maxConcurrency, rateLimit, err := checkLimits(cfg)
	errs.add(err)
	batching, err := checkBatching(cfg.Batching, typ, typeKnown)
	if errs.add(err) && batching.enabled && format != payload.FormatWebhookd {
		errs.add(invalid("webhookConfig.batching.enabled", "batches are sent in the webhookd format only"))
	}
	breaker, err := checkBreaker(cfg.CircuitBreaker)
	errs.add(err)
	order, err := checkOrdering(cfg.Ordering, batching.enabled)
	errs.add(err)
	errs.add(checkReference("owner", in.Owner))
	errs.add(checkReference("domain", in.Domain))
	for i, tag := range in.Tags {
		if s, _ := tag["tagFQN"].(string); s == "" {
			errs.add(invalid(fmt.Sprintf("tags[%d].tagFQN", i), "required"))
		}
	}
	if err := errs.err(); err != nil {
		return err
	}

	w.Name, w.DisplayName, w.Description, w.WebhookType = in.Name, in.DisplayName, in.Description, typ
	w.Enabled = in.Enabled == nil || *in.Enabled
	w.BatchSize, w.EventFilters = batch, filters
	w.Endpoint, w.SecretKey, w.Headers, w.TimeoutSeconds = endpoint, secret, headers, timeout
	w.PayloadFormat, w.RetrySchedule = string(format), schedule
	w.Auth, w.ClientCertificate, w.ClientKey = auth, cert, key
	w.SendToAdmins, w.SendToOwners, w.SendToFollowers = isTrue(cfg.SendToAdmins), isTrue(cfg.SendToOwners), isTrue(cfg.SendToFollowers)
	w.PayloadTemplate = cfg.PayloadTemplate
	w.BatchEnabled, w.BatchMaxWaitMs = batching.enabled, batching.maxWaitMs
	w.MaxConcurrency, w.RateLimit = maxConcurrency, rateLimit
	w.Owner, w.Tags, w.Domain = in.Owner, in.Tags, in.Domain
	breaker.applyTo(w)
	order.applyTo(w)
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
	return checkURL("webhookConfig.endpoint", raw, allowPrivate)
}

// checkURL checks a URL webhookd will post to (an endpoint, a token URL).
func checkURL(field, raw string, allowPrivate bool) error {
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

// checkHeaders reports every header that cannot be sent, in name order.
func checkHeaders(h map[string]string) error {
	var errs problems
	for _, name := range slices.Sorted(maps.Keys(h)) {
		value := h[name]
		field := "webhookConfig.headers." + name
		lower := strings.ToLower(name)
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			errs.add(invalid(field, "not a valid header name"))
		case !httpguts.ValidHeaderFieldValue(value):
			errs.add(invalid(field, "value must not contain control characters or line breaks"))
		case reservedHeaders[lower]:
			errs.add(invalid(field, "set by webhookd on every request; it cannot be overridden"))
		case lower == "content-type":
			if mt, _, err := mime.ParseMediaType(value); err != nil || mt != "application/json" {
				errs.add(invalid(field, "bodies are JSON; only application/json is allowed"))
			}
		}
	}
	return errs.err()
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

type batchSettings struct {
	enabled   bool
	maxWaitMs int
}

// Batching bounds: a batch waits at least a moment for company, and never so
// long that a receiver would call the events late.
const (
	defaultBatchWaitMs = 1000
	minBatchWaitMs     = 10
	maxBatchWaitMs     = 60000
)

// checkBatching validates webhookConfig.batching. Batches are envelopes of
// envelopes, so only Generic webhooks can take them.
func checkBatching(b *Batching, typ models.WebhookType, typeKnown bool) (batchSettings, error) {
	out := batchSettings{maxWaitMs: defaultBatchWaitMs}
	if b == nil {
		return out, nil
	}
	if b.MaxWaitMs != nil {
		if *b.MaxWaitMs < minBatchWaitMs || *b.MaxWaitMs > maxBatchWaitMs {
			return out, invalid("webhookConfig.batching.maxWaitMs", "must be from %d to %d", minBatchWaitMs, maxBatchWaitMs)
		}
		out.maxWaitMs = *b.MaxWaitMs
	}
	out.enabled = b.Enabled
	if out.enabled && typeKnown && typ != models.WebhookGeneric {
		return out, invalid("webhookConfig.batching.enabled", "only Generic webhooks take batches (a batch is an envelope of envelopes)")
	}
	return out, nil
}

// credentialsFollow is the rule for every stored credential sent to the
// receiver (credential headers, and any credential a webhook keeps for its
// endpoint): a mask sent back keeps it only while the endpoint URL stays
// exactly as stored. Whoever may edit a webhook but does not know its
// credential must not be able to point it elsewhere (another host, or
// another path on a shared receiver host) and collect it there. The
// signing secret is not sent, so it is not bound to the URL.
func credentialsFollow(stored, next string) bool { return stored != "" && stored == next }

// unmaskHeaders replaces every credential header sent back as the mask (a
// read document PUT back) with its stored value, only while keep
// (credentialsFollow) holds.
func unmaskHeaders(in, stored map[string]string, keep bool) (map[string]string, error) {
	if len(in) == 0 {
		return in, nil
	}
	out := maps.Clone(in)
	for name, v := range in {
		if v != redact.Mask {
			continue
		}
		kept, ok := stored[name]
		if !ok {
			for k, sv := range stored {
				if strings.EqualFold(k, name) {
					kept, ok = sv, true
				}
			}
		}
		if !ok || !redact.IsCredential(name) {
			return nil, invalid("webhookConfig.headers."+name, "send the value itself, not its mask")
		}
		if !keep {
			return nil, invalid("webhookConfig.headers."+name,
				"the endpoint URL changed: send the value itself, not its mask (a stored credential follows only an unchanged endpoint)")
		}
		out[name] = kept
	}
	return out, nil
}

// escapedMask is the mask as a client that re-encodes query values writes it.
var escapedMask = strings.Repeat("%2A", len(redact.Mask))

// unmaskEndpoint reads an endpoint sent back as reads show it: the stored
// URL's mask (its query values, user info and path tokens hidden) keeps
// the stored URL;
// a URL with a mask in it that is not exactly that is refused, since the
// credentials it hides would follow a changed URL.
func unmaskEndpoint(in, stored string) (string, error) {
	switch {
	case stored != "" && in == redact.Endpoint(stored):
		return stored, nil
	case strings.Contains(in, redact.Mask) || strings.Contains(strings.ToUpper(in), escapedMask):
		return "", invalid("webhookConfig.endpoint", "the URL changed: send its query values, user info and path tokens themselves, "+
			"not their mask (the stored ones are kept only when the endpoint is sent back exactly as read)")
	}
	return in, nil
}

// Retry schedule bounds: at least one retry, at most ten, each wait long
// enough not to hammer a receiver and short enough to be a retry.
const (
	minRetryWait  = 10 * time.Second
	maxRetryWait  = 24 * time.Hour
	maxRetryWaits = 10
)

// parseRetrySchedule reads webhookConfig.retrySchedule: Go durations (10s,
// 5m, 1h30m) or whole days (1d). Absent means the default schedule.
func parseRetrySchedule(in []string) ([]int64, error) {
	if in == nil {
		return nil, nil
	}
	const field = "webhookConfig.retrySchedule"
	if len(in) == 0 || len(in) > maxRetryWaits {
		return nil, invalid(field, "from 1 to %d waits (leave it out for the default 1m, 5m, 15m, 1h, 4h, 12h)", maxRetryWaits)
	}
	out := make([]int64, len(in))
	for i, v := range in {
		d, err := ParseDuration(v)
		// Whole seconds only: a read shows the schedule in whole units, and
		// writing a read document back must not change it.
		if err != nil || d < minRetryWait || d > maxRetryWait || d%time.Second != 0 {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "a wait of whole seconds from 10s to 24h, such as 30s, 5m or 1h")
		}
		out[i] = d.Milliseconds()
	}
	return out, nil
}

// Limit bounds: a cap of 1000 requests in flight is beyond any worker's
// slots; 10,000 requests per second beyond what one webhook is sent.
const (
	maxMaxConcurrency = 1000
	minRateLimit      = 0.01
	maxRateLimit      = 10000
)

// checkLimits validates webhookConfig.maxConcurrency and .rateLimit (the
// docs/architecture.md's "Per-webhook limits").
func checkLimits(cfg *Config) (maxConcurrency int, rateLimit float64, err error) {
	maxConcurrency = store.DefaultMaxConcurrency
	if c := cfg.MaxConcurrency; c != nil {
		if *c < 1 || *c > maxMaxConcurrency {
			return 0, 0, invalid("webhookConfig.maxConcurrency", "must be from 1 to %d requests in flight", maxMaxConcurrency)
		}
		maxConcurrency = *c
	}
	if r := cfg.RateLimit; r != nil {
		if math.IsNaN(*r) || *r < minRateLimit || *r > maxRateLimit {
			return 0, 0, invalid("webhookConfig.rateLimit", "must be from 0.01 (one request every 100 s) to %d requests per second; leave it out for no limit", maxRateLimit)
		}
		rateLimit = *r
	}
	return maxConcurrency, rateLimit, nil
}
