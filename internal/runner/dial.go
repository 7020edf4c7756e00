package runner

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/webhookd/webhookd/internal/config"
)

// Dial connects to the Temporal cluster cfg names; metrics, when set,
// receives the SDK's own metrics (see Metrics).
func Dial(ctx context.Context, cfg config.Config, log *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts := client.Options{
		HostPort:          cfg.TemporalAddress,
		Namespace:         cfg.TemporalNamespace,
		Logger:            sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		ConnectionOptions: client.ConnectionOptions{TLS: cfg.Temporal.TLS},
		MetricsHandler:    metrics,
	}
	if cfg.Temporal.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.Temporal.APIKey)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
	}
	return c, nil
}
