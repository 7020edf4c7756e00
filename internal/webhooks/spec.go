package webhooks

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/webhookd/webhookd/models"
)

// Spec is a webhook as a caller configures it: OpenMetadata's webhook
// schema, without the fields webhookd keeps itself (id, tenant, status,
// health, version, audit). Optional values are pointers; nil takes the
// default.
type Spec struct {
	Name         string
	DisplayName  string
	Description  string
	WebhookType  string
	Enabled      *bool
	BatchSize    *int
	EventFilters []models.EventFilter
	// Config is webhookConfig; nil is refused (it holds the endpoint).
	Config *Config
	Owner  map[string]any
	Tags   []map[string]any
	Domain map[string]any
}

// Config is a webhook's webhookConfig.
type Config struct {
	Endpoint string
	// SecretKey is the signing secret; the mask (a read document sent
	// back) keeps the stored one.
	SecretKey string
	// Headers are sent with every request; a credential header's value
	// sent back as the mask keeps the stored one while the endpoint keeps
	// its origin.
	Headers         map[string]string
	Timeout         *int // seconds
	SendToAdmins    *bool
	SendToOwners    *bool
	SendToFollowers *bool
	PayloadTemplate string
	Batching        *Batching
	PayloadFormat   string
	// RetrySchedule is the waits before each retry ("30s", "5m", "1d");
	// nil takes the default schedule.
	RetrySchedule []string
	// CircuitBreaker overrides the breaker's defaults, or turns it off.
	CircuitBreaker *CircuitBreaker
	// Ordering opts in to ordered delivery per key.
	Ordering *Ordering
	// MaxConcurrency caps requests in flight to the endpoint (nil: the
	// default, store.DefaultMaxConcurrency); RateLimit caps requests per
	// second (nil: no cap).
	MaxConcurrency *int
	RateLimit      *float64
	// Auth has webhookd fetch an OAuth2 token for the receiver; nil: none.
	Auth *Auth
	// TLS is the client certificate for the receiver (mTLS); nil: none.
	TLS *TLS
}

// Auth is webhookConfig.auth: OAuth2 client credentials. A ClientSecret sent
// back as the mask keeps the stored one while the endpoint, the token URL
// and the client id stay as stored.
type Auth struct {
	Type         string
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	Audience     string
}

// TLS is webhookConfig.tls: a client certificate (PEM, leaf first, then
// any intermediates) and its private key (PEM). A ClientKey sent back as the
// mask keeps the stored one while the certificate and the endpoint stay as
// stored.
type TLS struct {
	ClientCertificate string
	ClientKey         string
}

// Batching opts a webhook in to batched delivery.
type Batching struct {
	Enabled   bool
	MaxWaitMs *int
}

// FieldError says which field of a Spec (or of a rotation) is not
// acceptable. Path is the field's path in the API's JSON
// (webhookConfig.timeout, eventFilters[0].eventType).
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldErrors is every problem found with one Spec, in the order checked.
// errors.As finds its first *FieldError, so a caller that shows one
// problem shows the first.
type FieldErrors []*FieldError

func (e FieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, fe := range e {
		msgs[i] = fe.Error()
	}
	return strings.Join(msgs, "; ")
}

func (e FieldErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, fe := range e {
		out[i] = fe
	}
	return out
}

// problems collects the field problems of one validation.
type problems struct {
	list  FieldErrors
	other error // not about a field: ends the validation
}

// add records err (nil, a *FieldError or FieldErrors) and reports whether
// it was nil, so that a check depending on the field runs only then.
func (p *problems) add(err error) bool {
	var (
		many FieldErrors
		one  *FieldError
	)
	switch {
	case err == nil:
		return true
	case errors.As(err, &many):
		p.list = append(p.list, many...)
	case errors.As(err, &one):
		p.list = append(p.list, one)
	case p.other == nil:
		p.other = err
	}
	return false
}

// err is nil when nothing was found, one *FieldError when one was, and
// FieldErrors when more were.
func (p *problems) err() error {
	switch {
	case p.other != nil:
		return p.other
	case len(p.list) == 0:
		return nil
	case len(p.list) == 1:
		return p.list[0]
	}
	return p.list
}

func invalid(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// NameTakenError means another live webhook of the tenant has the name.
type NameTakenError struct{ Name string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("a webhook named %q already exists", e.Name)
}

// ParseDuration reads Go durations (90m, 24h) and whole days (7d): the
// waits of a retry schedule, and the API's stats windows.
func ParseDuration(v string) (time.Duration, error) {
	if n, ok := cutSuffixInt(v, "d"); ok {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

func cutSuffixInt(v, suffix string) (int, bool) {
	if len(v) < 2 || v[len(v)-len(suffix):] != suffix {
		return 0, false
	}
	n := 0
	for _, r := range v[:len(v)-len(suffix)] {
		if r < '0' || r > '9' || n > 1000 {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}
