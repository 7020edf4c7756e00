package activities

import (
	"github.com/webhookd/webhookd/workflows"
	"go.temporal.io/sdk/activity"
)

// Registry is the part of a Temporal worker that activities register with.
type Registry interface {
	RegisterActivityWithOptions(a interface{}, options activity.RegisterOptions)
}

// Register registers every activity under its stable name.
func Register(r Registry, s *Sender, rec *Recorder, m *Maintenance, dl *DeadLetters) {
	r.RegisterActivityWithOptions(s.Send, activity.RegisterOptions{Name: workflows.SendActivity})
	r.RegisterActivityWithOptions(rec.Record, activity.RegisterOptions{Name: workflows.RecordActivity})
	r.RegisterActivityWithOptions(m.StartMissing, activity.RegisterOptions{Name: workflows.ReconcileActivity})
	r.RegisterActivityWithOptions(m.Purge, activity.RegisterOptions{Name: workflows.RetentionActivity})
	r.RegisterActivityWithOptions(dl.ReplayPage, activity.RegisterOptions{Name: workflows.DLQReplayPageActivity})
}
