package main

import (
	"context"
	"log/slog"

	"github.com/webhookd/webhookd/internal/config"
)

// runAPI serves the REST API until ctx ends.
func runAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.APIToken == "" {
		log.Warn("API_TOKEN is empty and API_OPEN=true: the API accepts unauthenticated requests")
	}
	s, err := openStore(ctx, cfg.DatabaseURL, log, false)
	if err != nil {
		return err
	}
	defer s.Close()
	c, err := dialTemporal(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	h, err := newAPI(s, c, newDispatcher(s, c, cfg, log), cfg, log)
	if err != nil {
		return err
	}
	return serveHTTP(ctx, cfg.HTTPAddr, h, log)
}
