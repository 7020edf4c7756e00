package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/dispatch/dispatchtest"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
	"github.com/webhookd/webhookd/workflows"
)

// racingStore is the store with writes racing a tenant deletion: after the
// first rounds' deletes, a webhook created a moment before commits, and an
// event with a delivery to it.
type racingStore struct {
	*store.Store
	t     *testing.T
	races int // how many deletes are followed by a racing write
	n     int
}

func (r *racingStore) DeleteTenantData(ctx context.Context, tenant string) (store.TenantPurge, error) {
	p, err := r.Store.DeleteTenantData(ctx, tenant)
	if r.n < r.races {
		r.n++
		w, _ := seedOutbox(r.t, r.Store, 0)
		ev := event(tenant, fmt.Sprintf("evt-race-%d", r.n), "order.created")
		del := ingest.NewDelivery(ev, w.ID, models.TriggerScheduled, store.Now())
		if _, _, _, err := r.Store.IngestEvent(ctx, &ev, []models.Delivery{del}); err != nil {
			r.t.Error(err)
		}
	}
	return p, err
}

// seedTenant stores n deliveries of tenant acme, each with an open run.
func seedTenant(t *testing.T, s *store.Store, fake *dispatchtest.Runner, n int) *models.Webhook {
	t.Helper()
	w, ids := seedOutbox(t, s, n)
	for _, id := range ids {
		fake.SetOpen(runOf("acme", id))
	}
	return w
}

type matcherSpy struct{ tenants []string }

func (m *matcherSpy) Invalidate(tenant string) { m.tenants = append(m.tenants, tenant) }

// TestDeleteTenant: the webhooks stop matching, the open runs are ended,
// the rows go; another tenant keeps everything, its running workflows too.
func TestDeleteTenant(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	fake := dispatchtest.New()
	seedTenant(t, s, fake, 3)
	beta := runOf("beta", uuid.NewString())
	fake.SetOpen(beta)
	other := &models.Webhook{ID: uuid.NewString(), TenantID: "beta", Name: "stays", WebhookType: models.WebhookGeneric,
		Enabled: true, Status: models.WebhookActive, BatchSize: 10, TimeoutSeconds: 10, Version: 0.1,
		EventFilters: []models.EventFilter{{EventType: "*"}}, Endpoint: "https://example.com/in", CreatedAt: store.Now(), UpdatedAt: store.Now()}
	if err := s.CreateWebhook(ctx, other); err != nil {
		t.Fatal(err)
	}
	spy := &matcherSpy{}
	res, err := dispatch.NewTenantDeleter(s, fake, spy, slog.New(slog.DiscardHandler)).DeleteTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if res.Webhooks != 1 || res.Events != 3 || res.Deliveries != 3 || res.WorkflowsEnded != 3 || len(res.Warnings) != 0 {
		t.Fatalf("deleted %+v", res)
	}
	if len(spy.tenants) == 0 || spy.tenants[0] != "acme" {
		t.Fatalf("matcher told of %v, want acme", spy.tenants)
	}
	if ok, _ := s.TenantExists(ctx, "acme"); ok {
		t.Fatal("acme still has rows")
	}
	if _, err := s.GetWebhook(ctx, other.ID); err != nil {
		t.Fatalf("another tenant's webhook: %v", err)
	}
	if !fake.Open(beta.WorkflowID) {
		t.Fatalf("another tenant's running workflow was ended (ended %v)", fake.Ended())
	}
	if q := fake.Queries(); len(q) != 1 || !strings.Contains(q[0], `TenantId = "acme"`) {
		t.Fatalf("visibility queries %v", q)
	}
	if _, err := dispatch.NewTenantDeleter(s, fake, spy, slog.New(slog.DiscardHandler)).DeleteTenant(ctx, "acme"); !errors.Is(err, dispatch.ErrNoSuchTenant) {
		t.Fatalf("deleting it again: %v", err)
	}
}

// TestDeleteTenantSweepsRacingWrites: rows a racing ingest commits after a
// round's delete are removed by the next round; rows that keep coming are
// reported, not looped on forever.
func TestDeleteTenantSweepsRacingWrites(t *testing.T) {
	for _, c := range []struct {
		races       int
		events      int64
		wantWarning bool
	}{{races: 1, events: 2}, {races: 10, events: 3, wantWarning: true}} {
		t.Run(fmt.Sprintf("%d racing writes", c.races), func(t *testing.T) {
			s := storetest.Open(t, store.Postgres)
			ctx := context.Background()
			fake := dispatchtest.New()
			seedTenant(t, s, fake, 1)
			racing := &racingStore{Store: s, t: t, races: c.races}
			res, err := dispatch.NewTenantDeleter(racing, fake, &matcherSpy{}, slog.New(slog.DiscardHandler)).DeleteTenant(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != c.events {
				t.Fatalf("deleted %d events, want %d (%+v)", res.Events, c.events, res)
			}
			warned := strings.Contains(strings.Join(res.Warnings, "\n"), "delete it again")
			if warned != c.wantWarning {
				t.Fatalf("warnings %q", res.Warnings)
			}
			if exists, _ := s.TenantExists(ctx, "acme"); exists != c.wantWarning {
				t.Fatalf("tenant rows left: %v", exists)
			}
		})
	}
}

// TestDeleteTenantEndsWhatVisibilityFinds: a replay job of the tenant (no
// delivery row to find it by) is found through visibility and ended; when
// visibility does not answer, the deletion still succeeds, with a warning.
func TestDeleteTenantEndsWhatVisibilityFinds(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	fake := dispatchtest.New()
	seedTenant(t, s, fake, 1)
	job := workflows.DLQJobWorkflowID("job-1")
	fake.SetOpen(dispatch.Run{WorkflowID: job, Workflow: workflows.DLQReplayWorkflow,
		SearchAttributes: map[string]string{workflows.TenantIDAttr.GetName(): "acme"}})
	res, err := dispatch.NewTenantDeleter(s, fake, &matcherSpy{}, slog.New(slog.DiscardHandler)).DeleteTenant(ctx, "acme")
	if err != nil || res.WorkflowsEnded != 2 || fake.Open(job) {
		t.Fatalf("deleted %+v (job still open: %v): %v", res, fake.Open(job), err)
	}

	down := dispatchtest.New()
	down.ListErr = errors.New("visibility store unavailable")
	seedTenant(t, s, down, 1)
	res, err = dispatch.NewTenantDeleter(s, down, &matcherSpy{}, slog.New(slog.DiscardHandler)).DeleteTenant(ctx, "acme")
	if err != nil || res.Deliveries != 1 || res.WorkflowsEnded != 1 {
		t.Fatalf("with visibility down: %+v %v", res, err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "visibility store unavailable") {
		t.Fatalf("warnings %q", res.Warnings)
	}
}
