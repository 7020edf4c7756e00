package attempt

import "github.com/webhookd/webhookd/models"

// Row is the attempts-table row of r, for the delivery deliveryID as run by
// the workflow run runID (empty for a test of an unsaved webhook, which no
// workflow runs).
func (r *Record) Row(deliveryID, runID string) *models.Attempt {
	a := &models.Attempt{
		DeliveryID: deliveryID, RunID: runID, Number: r.Number, Trigger: r.Trigger,
		RequestURL: r.RequestURL, RequestHeaders: r.RequestHeaders, ResponseHeaders: r.ResponseHeaders,
		ResponseBody: r.ResponseBody, DurationMs: r.DurationMs, Error: r.Error,
		StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(),
	}
	if r.StatusCode != 0 {
		code := r.StatusCode
		a.ResponseStatus = &code
	}
	return a
}
