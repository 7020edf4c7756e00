package app

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/internal/config"
	"github.com/webhookd/webhookd/internal/runner"
	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tracing"
)

// OpenStore connects to the database and checks (or, with migrate, brings)
// the schema up to date; keys, when set, encrypt webhook secrets.
func OpenStore(ctx context.Context, databaseURL string, log *slog.Logger, migrate bool, keys *secrets.Keyring) (*store.Store, error) {
	s, err := store.Open(ctx, databaseURL, log)
	if err != nil {
		return nil, err
	}
	if keys != nil {
		s.UseKeyring(keys)
	}
	if migrate {
		n, err := s.Migrate(ctx)
		if err != nil {
			s.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("database migrated", "migrations", n, "dialect", s.Dialect())
		}
		return s, nil
	}
	if err := s.RequireCurrentSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// DialTemporal connects to Temporal; m, when set, receives the SDK's own
// metrics.
func DialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, m *Metrics) (client.Client, error) {
	var sdkMetrics client.MetricsHandler
	if m != nil {
		sdkMetrics = m.temporal
	}
	c, err := runner.Dial(ctx, cfg, log, sdkMetrics)
	if err != nil {
		return nil, err
	}
	// Dialing does not check the namespace; without this, api would start
	// and say it is ready while nothing is delivered.
	if err := runner.CheckNamespace(ctx, c, cfg.TemporalNamespace); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// connection is what a long-running command holds: its database, its
// metrics and its Temporal client (which reports into those metrics).
type connection struct {
	store   *store.Store
	metrics *Metrics
	client  client.Client
	// traces is the OpenTelemetry tracer provider (nil: tracing off);
	// close flushes it.
	traces      trace.TracerProvider
	flushTraces func(context.Context) error
}

// connect opens the database at databaseURL (migrating it when migrate is
// set, refusing a schema that is behind otherwise) and dials Temporal.
func connect(ctx context.Context, cfg config.Config, databaseURL string, migrate bool, log *slog.Logger) (*connection, error) {
	s, err := OpenStore(ctx, databaseURL, log, migrate, cfg.Keyring)
	if err != nil {
		return nil, err
	}
	m, err := NewMetrics(log)
	if err != nil {
		s.Close()
		return nil, err
	}
	tp, flush, err := tracing.New(ctx, cfg.Tracing, string(cfg.Mode), Version)
	if err != nil {
		s.Close()
		return nil, err
	}
	c, err := DialTemporal(ctx, cfg, log, m)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &connection{store: s, metrics: m, client: c, traces: tp, flushTraces: flush}, nil
}

// close releases the client and the database, and exports the spans still
// buffered.
func (c *connection) close() {
	c.client.Close()
	c.store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.flushTraces(ctx) // a collector that is gone loses the last spans, nothing else
}

// parts assembles webhookd on the connection.
func (c *connection) parts(cfg config.Config, log *slog.Logger) *Parts {
	p := NewParts(c.store, c.client, cfg, log, c.metrics, nil)
	p.Trace(c.traces)
	return p
}
