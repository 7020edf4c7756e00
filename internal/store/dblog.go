package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// quietTrace hands GORM's logger only the statements it will log (errors
// and slow ones). GORM's slog logger renders every statement's SQL before
// deciding; for the one INSERT of an event's thousand deliveries that was
// half of the request's CPU time (pprof of BenchmarkFanOut).
type quietTrace struct {
	logger.Interface
	slow time.Duration
}

func (q quietTrace) LogMode(level logger.LogLevel) logger.Interface {
	return quietTrace{Interface: q.Interface.LogMode(level), slow: q.slow}
}

// A statement cut short because its context ended (a request gone, a
// process stopping) did not fail on the database's account: not logged.
func (q quietTrace) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	failed := err != nil && !errors.Is(err, gorm.ErrRecordNotFound)
	if failed || time.Since(begin) > q.slow {
		q.Interface.Trace(ctx, begin, fc, err)
	}
}
