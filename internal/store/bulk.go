package store

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/webhookd/webhookd/models"
)

// insertDeliveries stores a fan-out's deliveries. On PostgreSQL it is one
// INSERT ... SELECT FROM unnest(...) with one array per column: a thousand
// rows cost one statement of one parameter per column, where GORM's
// multi-row INSERT binds a value per row and column through reflection
// (BenchmarkIngestFanOut). SQLite
// takes GORM's multi-row batches: it has no arrays, and a file write is its
// cost.
func insertDeliveries(tx *gorm.DB, dialect Dialect, ds []models.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if dialect != Postgres || len(ds) < bulkMinRows {
		return tx.CreateInBatches(ds, 500).Error
	}
	args := make([]any, len(deliveryColumns))
	for i, c := range deliveryColumns {
		args[i] = c.values(ds)
	}
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, deliveryBulkInsert, args...)
	return err
}

// bulkMinRows: below it GORM's INSERT is as quick and keeps the common
// one-webhook event on the statement every other write uses.
const bulkMinRows = 8

// deliveryColumn is one column of the bulk insert: its PostgreSQL array type
// and the column's values of every row. TestBulkInsertCoversDelivery fails
// when models.Delivery gains a field this list lacks.
type deliveryColumn struct {
	name, pgType string
	values       func(ds []models.Delivery) any
}

func column[T any](name, pgType string, get func(d *models.Delivery) T) deliveryColumn {
	return deliveryColumn{name: name, pgType: pgType, values: func(ds []models.Delivery) any {
		out := make([]T, len(ds))
		for i := range ds {
			out[i] = get(&ds[i])
		}
		return out
	}}
}

var deliveryColumns = []deliveryColumn{
	column("id", "uuid", func(d *models.Delivery) string { return d.ID }),
	column("tenant_id", "text", func(d *models.Delivery) string { return d.TenantID }),
	column("event_id", "text", func(d *models.Delivery) string { return d.EventID }),
	column("webhook_id", "uuid", func(d *models.Delivery) string { return d.WebhookID }),
	column("event_type", "text", func(d *models.Delivery) string { return d.EventType }),
	column("status", "text", func(d *models.Delivery) string { return string(d.Status) }),
	column("trigger", "text", func(d *models.Delivery) string { return string(d.Trigger) }),
	column("attempt_count", "int4", func(d *models.Delivery) int32 { return int32(d.AttemptCount) }),
	column("throttle_waits", "int4", func(d *models.Delivery) int32 { return int32(d.ThrottleWaits) }),
	column("last_status_code", "int4", func(d *models.Delivery) *int32 { return ptr32(d.LastStatusCode) }),
	column("last_duration_ms", "int8", func(d *models.Delivery) *int64 { return d.LastDurationMs }),
	column("last_error", "text", func(d *models.Delivery) string { return d.LastError }),
	column("next_attempt_at", "timestamptz", func(d *models.Delivery) *time.Time { return d.NextAttemptAt }),
	column("waiting_for", "text", func(d *models.Delivery) string { return string(d.WaitingFor) }),
	column("dispatched_at", "timestamptz", func(d *models.Delivery) *time.Time { return d.DispatchedAt }),
	column("batch_size", "int4", func(d *models.Delivery) int32 { return int32(d.BatchSize) }),
	column("batch_bytes", "int8", func(d *models.Delivery) int64 { return d.BatchBytes }),
	column("batch_closes_at", "timestamptz", func(d *models.Delivery) *time.Time { return d.BatchClosesAt }),
	column("starts", "int4", func(d *models.Delivery) int32 { return int32(d.Starts) }),
	column("sequence_key", "text", func(d *models.Delivery) *string { return d.SequenceKey }),
	column("sequence_at", "timestamptz", func(d *models.Delivery) *time.Time { return d.SequenceAt }),
	column("sequence_skipped", "bool", func(d *models.Delivery) bool { return d.SequenceSkipped }),
	column("trace_parent", "text", func(d *models.Delivery) string { return d.TraceParent }),
	column("created_at", "timestamptz", func(d *models.Delivery) time.Time { return d.CreatedAt }),
	column("updated_at", "timestamptz", func(d *models.Delivery) time.Time { return d.UpdatedAt }),
}

func ptr32(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

var deliveryBulkInsert = func() string {
	names := make([]string, len(deliveryColumns))
	arrays := make([]string, len(deliveryColumns))
	for i, c := range deliveryColumns {
		names[i] = c.name
		arrays[i] = fmt.Sprintf("$%d::%s[]", i+1, c.pgType)
	}
	return fmt.Sprintf("INSERT INTO deliveries (%s) SELECT * FROM unnest(%s)",
		strings.Join(names, ", "), strings.Join(arrays, ", "))
}()
