// Package api is webhookd's REST API (Gin). NewServer builds the one router;
// routes.go lists every route.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/tenancy"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/models"
)

// MaxBodyBytes bounds every request body: larger bodies get 413.
const MaxBodyBytes = 1 << 20

// Ingester stores accepted events with their deliveries (internal/ingest).
type Ingester interface {
	Ingest(ctx context.Context, ev models.Event) (ingest.Ingested, error)
	IngestMany(ctx context.Context, evs []models.Event) ([]ingest.Ingested, error)
	// Wake has the starter start what was ingested.
	Wake(res []ingest.Ingested)
}

// Webhooks writes webhooks (internal/webhooks): every create, update,
// delete, pause, resume and rotation goes through it.
type Webhooks interface {
	webhookWriter
	pauser
	secretRotator
}

// EventTypes writes the event catalog (internal/eventtypes).
type EventTypes interface {
	eventTypeWriter
}

// Dispatcher acts on delivery workflows (internal/dispatch): replays, test
// sends, bulk replays and tenant deletion.
type Dispatcher interface {
	replayer
	skipper
	tester
	dlqJobs
	tenantDeleter
}

// Reads is everything the API reads from the database (internal/store);
// it writes nothing there itself.
type Reads interface {
	webhookReader
	statsReader
	deliveryReader
	deliveryLoader
	deliveryLister
	sequenceReader
	eventReader
	eventLister
	eventTypeReader
	tenantLister
	databaseHealth
}

// HealthChecker reports whether a service the API depends on answers.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}

// TokenService mints and verifies tenant tokens.
type TokenService interface {
	tokenVerifier
	Mint(tenant string, ttl time.Duration, readOnly bool) (string, time.Time, error)
}

// Deps is everything the API needs; NewServer refuses to build without them.
type Deps struct {
	Logger     *slog.Logger
	Store      Reads
	Ingester   Ingester
	Webhooks   Webhooks
	EventTypes EventTypes
	Dispatcher Dispatcher
	// Temporal answers readiness checks (internal/runner).
	Temporal HealthChecker
	Metrics  *prometheus.Registry
	// APIToken is the admin token; empty lets requests without credentials
	// act as the admin (the caller decides whether that is allowed).
	APIToken string
	// Tokens enables tenant tokens; nil turns them off.
	Tokens TokenService
	// DLQPace sets the pace of dead-letter bulk replays; zero means
	// dispatch.DefaultDLQPace.
	DLQPace dispatch.DLQPace
	// Hosts are the Host names the API answers to (ALLOWED_HOSTS and
	// HTTP_ADDR's host); the zero value takes loopback names and IP
	// addresses only.
	Hosts HostRule
	// Tracer records ingest spans; the zero Tracer is tracing off.
	Tracer tracing.Tracer
	// Console, when set, builds the web console served at /console/; it
	// gets the API's own handler, which it calls in-process.
	Console func(api http.Handler) (http.Handler, error)
}

type server struct {
	log        *slog.Logger
	store      Reads
	ingester   Ingester
	webhooks   Webhooks
	eventTypes EventTypes
	dispatcher Dispatcher
	temporal   HealthChecker
	metrics    *metrics
	registry   *prometheus.Registry
	token      string
	tokens     TokenService
	dlqPace    dispatch.DLQPace
	console    http.Handler
	tracer     tracing.Tracer
}

// NewServer returns the API as an http.Handler.
func NewServer(d Deps) (http.Handler, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("api: Logger is required")
	case d.Store == nil:
		return nil, errors.New("api: Store is required")
	case d.Ingester == nil:
		return nil, errors.New("api: Ingester is required")
	case d.Webhooks == nil:
		return nil, errors.New("api: Webhooks is required")
	case d.EventTypes == nil:
		return nil, errors.New("api: EventTypes is required")
	case d.Dispatcher == nil:
		return nil, errors.New("api: Dispatcher is required")
	case d.Temporal == nil:
		return nil, errors.New("api: Temporal is required")
	case d.Metrics == nil:
		return nil, errors.New("api: Metrics registry is required")
	}
	m, err := newMetrics(d.Metrics)
	if err != nil {
		return nil, err
	}
	s := &server{
		log: d.Logger, store: d.Store, ingester: d.Ingester, webhooks: d.Webhooks, eventTypes: d.EventTypes,
		dispatcher: d.Dispatcher, temporal: d.Temporal,
		metrics: m, registry: d.Metrics, token: d.APIToken, tokens: d.Tokens,
		dlqPace: d.DLQPace, tracer: d.Tracer,
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true // c.Request.Context() flows into handlers
	r.Use(s.recoverPanics(), s.observe(), renderErrors(d.Logger), allowHosts(d.Hosts), limitBody(MaxBodyBytes), checkInputs(), renderAllowance())
	if d.Console != nil {
		if s.console, err = d.Console(r); err != nil {
			return nil, err
		}
	}
	s.routes(r)
	return r, nil
}

// tenancyOff is the answer to tenant-token routes when no signing key is set.
var tenancyOff = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
	Message: "tenant tokens are off: set TENANT_TOKEN_KEY (at least " + strconv.Itoa(tenancy.MinKeyBytes) + " characters)"}
