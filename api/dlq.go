package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

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
	dl := store.DeadLetters(c.Query("webhookId"), q.EventType, q.Since, q.Until)
	dl.Limit, dl.AfterCreated, dl.AfterID = q.Limit, q.AfterCreated, q.AfterID
	q = dl
	s.listDeliveries(c, q)
}

type dlqReplayRequest struct {
	WebhookID string     `json:"webhookId,omitempty"`
	EventType string     `json:"eventType,omitempty"`
	Since     *time.Time `json:"since,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	DryRun    bool       `json:"dryRun,omitempty"`
}

type dlqJob struct {
	JobID    string   `json:"jobId,omitempty"`
	Status   string   `json:"status"` // dryRun | running | completed | failed
	Matched  int      `json:"matched"`
	Replayed int      `json:"replayed"`
	Skipped  int      `json:"skipped"`
	Errors   []string `json:"errors,omitempty"`
}

// replayDLQ replays every failed delivery matching the filters. dryRun only
// counts them. Otherwise a ReplayDeadLetters workflow pages through them at
// a bounded rate and the call answers at once with its job id.
func (s *server) replayDLQ(c *gin.Context) {
	var in dlqReplayRequest
	if err := decodeJSON(c, &in); err != nil {
		fail(c, err)
		return
	}
	f := workflows.DLQFilter{WebhookID: in.WebhookID, EventType: in.EventType}
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
	matched, err := s.store.CountDeliveries(ctx, store.DeadLetters(f.WebhookID, f.EventType, f.Since, f.Until))
	if err != nil {
		fail(c, err)
		return
	}
	if in.DryRun {
		c.JSON(http.StatusOK, dlqJob{Status: "dryRun", Matched: int(matched)})
		return
	}
	jobID := uuid.Must(uuid.NewV7()).String()
	_, err = s.dispatcher.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: workflows.DLQJobWorkflowID(jobID), TaskQueue: s.dispatcher.TaskQueue,
		StaticSummary: "replay of the dead-letter queue",
	}, workflows.DLQReplayWorkflow, workflows.DLQReplayInput{
		Filter: f, PageSize: s.replayPage, Pause: s.replayPause, Progress: workflows.DLQProgress{Matched: int(matched)},
	})
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/dlq/replay/"+jobID)
	c.JSON(http.StatusAccepted, dlqJob{JobID: jobID, Status: "running", Matched: int(matched)})
}

// dlqReplayJob reports a bulk replay's progress.
func (s *server) dlqReplayJob(c *gin.Context) {
	ctx := c.Request.Context()
	jobID := c.Param("id")
	wfID := workflows.DLQJobWorkflowID(jobID)
	desc, err := s.dispatcher.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		fail(c, notFound("replay job %s not found", jobID))
		return
	}
	if err != nil {
		fail(c, err)
		return
	}
	var p workflows.DLQProgress
	status := "running"
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enums.WORKFLOW_EXECUTION_STATUS_RUNNING, enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		v, err := s.dispatcher.Temporal.QueryWorkflow(ctx, wfID, "", workflows.ProgressQuery)
		if err == nil {
			err = v.Get(&p)
		}
		if err != nil {
			fail(c, err)
			return
		}
	case enums.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		status = "completed"
		if err := s.dispatcher.Temporal.GetWorkflow(ctx, wfID, "").Get(ctx, &p); err != nil {
			fail(c, err)
			return
		}
	default:
		status = "failed"
	}
	c.JSON(http.StatusOK, dlqJob{JobID: jobID, Status: status, Matched: p.Matched, Replayed: p.Replayed, Skipped: p.Skipped, Errors: p.Errors})
}
