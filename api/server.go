// Package api is webhookd's REST API (Gin). NewServer builds the one router;
// routes.go lists every route.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/store"
)

// MaxBodyBytes bounds every request body (SPEC §7): larger bodies get 413.
const MaxBodyBytes = 1 << 20

// healthChecker is the part of the Temporal client readiness needs.
type healthChecker interface {
	CheckHealth(ctx context.Context, req *client.CheckHealthRequest) (*client.CheckHealthResponse, error)
}

// Deps is everything the API needs; NewServer refuses to build without them.
type Deps struct {
	Logger     *slog.Logger
	Store      *store.Store
	Dispatcher *dispatch.Dispatcher
	Temporal   healthChecker
	Metrics    *prometheus.Registry
	// APIToken enables bearer-token auth; empty runs open (the caller
	// decides whether that is allowed).
	APIToken              string
	AllowPrivateEndpoints bool
	// BulkReplayPageSize and BulkReplayPause set the pace of dead-letter
	// bulk replays (PageSize per Pause); zero means 25 per second.
	BulkReplayPageSize int
	BulkReplayPause    time.Duration
}

type server struct {
	log          *slog.Logger
	store        *store.Store
	dispatcher   *dispatch.Dispatcher
	temporal     healthChecker
	metrics      *metrics
	registry     *prometheus.Registry
	token        string
	allowPrivate bool
	replayPage   int
	replayPause  time.Duration
}

// NewServer returns the API as an http.Handler.
func NewServer(d Deps) (http.Handler, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("api: Logger is required")
	case d.Store == nil:
		return nil, errors.New("api: Store is required")
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
		log: d.Logger, store: d.Store, dispatcher: d.Dispatcher, temporal: d.Temporal,
		metrics: m, registry: d.Metrics, token: d.APIToken, allowPrivate: d.AllowPrivateEndpoints,
		replayPage: d.BulkReplayPageSize, replayPause: d.BulkReplayPause,
	}
	if s.replayPage <= 0 || s.replayPause <= 0 {
		// 25 deliveries a second leaves the Temporal server room for live
		// traffic (FACTS.md: a dev server saturates near 40-70 workflows/s).
		s.replayPage, s.replayPause = 25, time.Second
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true // c.Request.Context() flows into handlers
	r.Use(s.recoverPanics(), s.observe(), renderErrors(d.Logger), limitBody(MaxBodyBytes))
	s.routes(r)
	return r, nil
}
