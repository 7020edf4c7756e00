package api

import (
	"cmp"
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/webhooks"
	"github.com/webhookd/webhookd/models"
)

// statsJSON is a webhook's health over a window.
type statsJSON struct {
	WebhookID string `json:"webhookId"`
	Window    string `json:"window"`
	Since     string `json:"since"`
	Attempts  int64  `json:"attempts"`
	Successes int64  `json:"successes"`
	Failures  int64  `json:"failures"`
	// SuccessRate is successes/attempts, absent without attempts.
	SuccessRate *float64 `json:"successRate,omitempty"`
	// Response times in ms, estimated from a histogram (see the README).
	ResponseTimeMs *responseTimes `json:"responseTimeMs,omitempty"`
	LastSuccessAt  *string        `json:"lastSuccessAt,omitempty"`
	LastFailureAt  *string        `json:"lastFailureAt,omitempty"`
	// EventFilters are what each filter did with the events of its types:
	// a filter that saw events and matched none matched nothing recently.
	EventFilters []filterStatsJSON `json:"eventFilters"`
	// Limits is the webhook's flow control now (not over the window).
	Limits limitsJSON `json:"limits"`
}

// limitsJSON is what a webhook's limits hold back now (the README's
// "Per-webhook limits").
type limitsJSON struct {
	MaxConcurrency int      `json:"maxConcurrency"`
	RateLimit      *float64 `json:"rateLimit,omitempty"`
	// InFlight counts requests to the endpoint in flight, in every process.
	InFlight int64 `json:"inFlight"`
	// CurrentRate is the rate in force after throttling answers (AIMD);
	// absent when none is.
	CurrentRate *float64 `json:"currentRate,omitempty"`
	// Throttled counts the throttling answers (429, 502, 503, 504) the
	// endpoint ever gave.
	Throttled int64 `json:"throttled"`
	// Waiting counts deliveries by what they wait for.
	Waiting waitingJSON `json:"waiting"`
}

type waitingJSON struct {
	RateLimit   int64 `json:"rateLimit"`
	Concurrency int64 `json:"concurrency"`
	RetryAfter  int64 `json:"retryAfter"`
}

type filterStatsJSON struct {
	EventType string `json:"eventType"`
	Filter    string `json:"filter,omitempty"`
	Seen      int64  `json:"seen"`
	Matched   int64  `json:"matched"`
}

type responseTimes struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
}

// statsReader reads a webhook's five-minute statistics.
type statsReader interface {
	StatsSince(ctx context.Context, webhookID string, since time.Time) (store.WebhookStats, error)
	FilterStatsSince(ctx context.Context, webhookID string, since time.Time) ([]store.FilterCount, error)
	WebhookLimiter(ctx context.Context, webhookID string) (store.LimiterState, error)
}

const (
	minStatsWindow = time.Hour
	maxStatsWindow = 30 * 24 * time.Hour
)

// webhookStats answers a webhook's delivery health over ?window= (1h to 30d,
// default 24h): attempts, successes, failures, success rate, response-time
// percentiles, last success and last failure. It reads at most one row per
// five minutes of the window, however many deliveries the webhook has.
func (s *server) webhookStats(c *gin.Context) {
	w, err := s.loadWebhook(c)
	if err != nil {
		fail(c, err)
		return
	}
	window := 24 * time.Hour
	if v := c.Query("window"); v != "" {
		if window, err = webhooks.ParseDuration(v); err != nil || window < minStatsWindow || window > maxStatsWindow {
			fail(c, badRequest("window: a duration from 1h to 30d, such as 1h, 24h, 7d or 30d"))
			return
		}
	}
	since := time.Now().UTC().Add(-window)
	st, err := s.store.StatsSince(c.Request.Context(), w.ID, since)
	if err != nil {
		fail(c, err)
		return
	}
	out := statsJSON{
		WebhookID: w.ID, Window: c.DefaultQuery("window", "24h"), Since: isoTime(since),
		Attempts: st.Attempts, Successes: st.Successes, Failures: st.Attempts - st.Successes,
	}
	if st.Attempts > 0 {
		out.SuccessRate = ptr(float64(st.Successes) / float64(st.Attempts))
		out.ResponseTimeMs = &responseTimes{
			Mean: float64(st.DurationMsSum) / float64(st.Attempts),
			P50:  histogramQuantile(st.Histogram, 0.5), P95: histogramQuantile(st.Histogram, 0.95),
		}
	}
	if st.LastSuccessAt != nil {
		out.LastSuccessAt = ptr(isoTime(*st.LastSuccessAt))
	}
	if st.LastFailureAt != nil {
		out.LastFailureAt = ptr(isoTime(*st.LastFailureAt))
	}
	if out.EventFilters, err = s.filterStats(c.Request.Context(), w, since); err != nil {
		fail(c, err)
		return
	}
	if out.Limits, err = s.limits(c.Request.Context(), w); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *server) limits(ctx context.Context, w *models.Webhook) (limitsJSON, error) {
	st, err := s.store.WebhookLimiter(ctx, w.ID)
	if err != nil {
		return limitsJSON{}, err
	}
	out := limitsJSON{
		MaxConcurrency: cmp.Or(w.MaxConcurrency, store.DefaultMaxConcurrency), InFlight: st.InFlight, Throttled: st.Throttled,
		Waiting: waitingJSON{
			RateLimit: st.Waiting[models.WaitingForRateLimit], Concurrency: st.Waiting[models.WaitingForConcurrency],
			RetryAfter: st.Waiting[models.WaitingForRetryAfter],
		},
	}
	if w.RateLimit > 0 {
		out.RateLimit = ptr(w.RateLimit)
	}
	if st.AdaptiveRate > 0 {
		out.CurrentRate = ptr(st.AdaptiveRate)
	}
	return out, nil
}

// filterStats are the counts of the webhook's filters as they are now, in
// their order (counts follow a filter by what it says, not its place).
func (s *server) filterStats(ctx context.Context, w *models.Webhook, since time.Time) ([]filterStatsJSON, error) {
	counts, err := s.store.FilterStatsSince(ctx, w.ID, since)
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]store.FilterCount, len(counts))
	for _, c := range counts {
		byKey[c.FilterKey] = c
	}
	out := make([]filterStatsJSON, len(w.EventFilters))
	for i, f := range w.EventFilters {
		c := byKey[filter.Key(f)]
		out[i] = filterStatsJSON{EventType: f.EventType, Filter: f.Filter, Seen: c.Seen, Matched: c.Matched}
	}
	return out, nil
}

// histogramQuantile estimates a quantile of response times from bucket
// counts, interpolating linearly inside the bucket it falls in (as
// Prometheus's histogram_quantile does); the open last bucket answers its
// lower bound.
func histogramQuantile(counts []int64, q float64) float64 {
	var total int64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	lower := 0.0
	for i, n := range counts {
		upper := float64(0)
		if i < len(models.StatBucketBoundsMs) {
			upper = float64(models.StatBucketBoundsMs[i])
		} else {
			return lower
		}
		if seen+float64(n) >= rank && n > 0 {
			return lower + (upper-lower)*(rank-seen)/float64(n)
		}
		seen += float64(n)
		lower = upper
	}
	return lower
}
