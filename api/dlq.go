package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// dlqJobs starts bulk replays of the dead-letter queue and reports their
// progress (internal/dispatch).
type dlqJobs interface {
	StartDLQReplay(ctx context.Context, f dispatch.DLQFilter, matched int, pace dispatch.DLQPace) (string, error)
	DLQReplayJob(ctx context.Context, jobID string) (*dispatch.DLQJob, error)
}

// listDLQ lists failed deliveries: the dead-letter queue.
func (s *server) listDLQ(c *gin.Context) {
	q, err := deliveryQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	if q.Status != "" && q.Status != models.DeliveryFailed {
		fail(c, badRequest("status: the dead-letter queue holds failed deliveries only"))
		return
	}
	if q.TenantID, err = listTenant(c); err != nil {
		fail(c, err)
		return
	}
	q.WebhookID = c.Query("webhookId")
	s.listDeliveries(c, store.DeadLetters(q))
}

type dlqReplayRequest struct {
	TenantID  string     `json:"tenantId,omitempty"`
	WebhookID string     `json:"webhookId,omitempty"`
	EventType string     `json:"eventType,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	DryRun    bool       `json:"dryRun,omitempty"`
}

type dlqJob struct {
	JobID    string   `json:"jobId,omitempty"`
	TenantID string   `json:"tenantId,omitempty"`
	Status   string   `json:"status"` // dryRun | running | completed | failed
	Matched  int      `json:"matched"`
	Replayed int      `json:"replayed"`
	Skipped  int      `json:"skipped"`
	Errors   []string `json:"errors,omitempty"`
}

// replayDLQ replays every failed delivery matching the filters. dryRun only
// counts them. Otherwise a ReplayDeadLetters workflow pages through them at
// a bounded rate and the call answers at once with its job id. A tenant
// token's job covers its own tenant; the admin's covers tenantId, or every
// tenant when none is named.
func (s *server) replayDLQ(c *gin.Context) {
	var in dlqReplayRequest
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	tenant, err := scopeTenant(c, in.TenantID, "")
	if err != nil {
		fail(c, err)
		return
	}
	f := dispatch.DLQFilter{TenantID: tenant, WebhookID: in.WebhookID, EventType: in.EventType}
	if in.Since != nil {
		f.Since = in.Since.UTC()
	}
	if in.Until != nil {
		f.Until = in.Until.UTC()
	}
	if f.Until.IsZero() {
		// Entries that fail after the job starts are not part of it.
		f.Until = time.Now().UTC()
	}
	ctx := c.Request.Context()
	matched, err := s.store.CountDeliveries(ctx, store.DeadLetters(store.DeliveryQuery{
		TenantID: f.TenantID, WebhookID: f.WebhookID, EventType: f.EventType, Since: f.Since, Until: f.Until,
	}))
	if err != nil {
		fail(c, err)
		return
	}
	if in.DryRun {
		c.JSON(http.StatusOK, dlqJob{TenantID: tenant, Status: "dryRun", Matched: int(matched)})
		return
	}
	jobID, err := s.dispatcher.StartDLQReplay(ctx, f, int(matched), s.dlqPace)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/dlq/replay/"+jobID)
	c.JSON(http.StatusAccepted, dlqJob{JobID: jobID, TenantID: tenant, Status: "running", Matched: int(matched)})
}

// dlqReplayJob reports a bulk replay's progress. Another tenant's job is not
// found.
func (s *server) dlqReplayJob(c *gin.Context) {
	jobID := c.Param("id")
	job, err := s.dispatcher.DLQReplayJob(c.Request.Context(), jobID)
	if errors.Is(err, dispatch.ErrNoSuchJob) || (err == nil && !callerOf(c).admin() && job.TenantID != callerOf(c).tenant) {
		fail(c, notFound("replay job %s not found", jobID))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, dlqJob{JobID: jobID, TenantID: job.TenantID, Status: job.Status, Matched: job.Matched,
		Replayed: job.Replayed, Skipped: job.Skipped, Errors: job.Errors})
}
