package activities

import (
	"context"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/tracing"
	"github.com/webhookd/webhookd/workflows"
)

// tracedPost makes the attempt inside two spans, in the trace the delivery
// was ingested in: the attempt, and under it the HTTP client span whose
// context the request carries in its traceparent header. Only the masked
// endpoint reaches the spans (its query may hold tokens).
func tracedPost(ctx context.Context, t tracing.Tracer, dc *store.DeliveryContext, in workflows.SendInput,
	post func(context.Context) attempt.Result) attempt.Result {
	if !t.On() {
		return post(ctx)
	}
	ctx, span := t.StartAt(ctx, dc.Delivery.TraceParent, "attempt "+strconv.Itoa(in.Attempt), trace.WithAttributes(
		attribute.String("webhookd.delivery_id", dc.Delivery.ID), attribute.String("webhookd.webhook_id", dc.Webhook.ID),
		attribute.String("webhookd.tenant_id", dc.Delivery.TenantID), attribute.Int("webhookd.attempt", in.Attempt),
		attribute.String("webhookd.trigger", string(in.Trigger))))
	defer span.End()
	endpoint := redact.URL(dc.Webhook.Endpoint)
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodPost, semconv.URLFull(endpoint)}
	if u, err := url.Parse(dc.Webhook.Endpoint); err == nil {
		attrs = append(attrs, semconv.ServerAddress(u.Hostname()))
	}
	ctx, client := t.Start(ctx, "POST", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	res := post(ctx)
	if a := res.Attempt; a != nil && a.StatusCode > 0 {
		client.SetAttributes(semconv.HTTPResponseStatusCode(a.StatusCode))
	}
	if res.Attempt != nil && (res.Attempt.StatusCode >= 400 || res.Attempt.StatusCode == 0) {
		client.SetStatus(codes.Error, res.Attempt.Error)
	}
	client.End()
	span.SetAttributes(attribute.String("webhookd.outcome", string(res.Outcome)))
	if res.Outcome != attempt.Success {
		span.SetStatus(codes.Error, string(res.Outcome))
	}
	return res
}
