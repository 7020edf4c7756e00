package ingest

import (
	"context"
	"log/slog"
	"time"
)

// DefaultCountsEvery is how often a process writes what its filters
// matched: the stats lag by at most this much.
const DefaultCountsEvery = 10 * time.Second

// WriteCounts adds what every filter matched since the last call to the
// stats (the webhook stats' eventFilters). Counts a failed write carried
// are lost: they are a diagnostic, not a record.
func (in *Ingester) WriteCounts(ctx context.Context) error {
	counts := in.Matcher.TakeCounts()
	if len(counts) == 0 {
		return nil
	}
	return in.store.AddFilterCounts(ctx, time.Now(), counts)
}

// RunCounts writes the counts every interval until ctx ends, and once more
// then.
func (in *Ingester) RunCounts(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := in.WriteCounts(final); err != nil {
				log.Warn("write filter counts", "error", err)
			}
			return
		case <-t.C:
			if err := in.WriteCounts(ctx); err != nil && ctx.Err() == nil {
				log.Warn("write filter counts", "error", err)
			}
		}
	}
}
