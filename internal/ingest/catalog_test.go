package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/store/storetest"
	"github.com/webhookd/webhookd/models"
)

const invoiceSchema = `{
  "type": "object",
  "required": ["invoiceId", "amount"],
  "properties": {"invoiceId": {"type": "string"}, "amount": {"type": "number"}},
  "additionalProperties": false
}`

func strictType(t *testing.T, s *store.Store, tenant, name, schema string) *models.EventType {
	t.Helper()
	et := &models.EventType{TenantID: tenant, Name: name, Schema: json.RawMessage(schema), Validate: true, UpdatedBy: "test"}
	if err := s.CreateEventType(context.Background(), et); err != nil {
		t.Fatal(err)
	}
	return et
}

func withData(ev models.Event, data string) models.Event {
	ev.Data = json.RawMessage(data)
	return ev
}

// replica is one api process: its own matcher and catalog cache, on the
// shared database.
func replica(s *store.Store) *ingest.Ingester {
	return ingest.New(s, ingest.NewMatcher(s, time.Hour), &waker{}) // MaxAge never expires in a test
}

// TestStrictTypesRefuseDataThatDoesNotMatch: an event of a type with
// validate whose data does not match answers with the failing path and
// stores nothing; in a batch the whole request is refused, naming the
// event. Types without validate, and unknown types, are accepted as ever.
func TestStrictTypesRefuseDataThatDoesNotMatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		strictType(t, s, "acme", "invoice.paid", invoiceSchema)
		loose := &models.EventType{TenantID: "acme", Name: "invoice.noted", Schema: json.RawMessage(invoiceSchema)}
		if err := s.CreateEventType(ctx, loose); err != nil {
			t.Fatal(err)
		}
		strictType(t, s, models.GlobalTenant, "user.signed_up", `{"type": "object", "required": ["userId"]}`)
		in := replica(s)

		good := withData(event("acme", "evt-1", "invoice.paid"), `{"invoiceId": "in_1", "amount": 12.5}`)
		if _, err := in.Ingest(ctx, good); err != nil {
			t.Fatalf("a valid event: %v", err)
		}
		for _, c := range []struct {
			ev             models.Event
			path, msg      string
			index          int
			inBatchOfThree bool
		}{
			{withData(event("acme", "evt-2", "invoice.paid"), `{"invoiceId": "in_2", "amount": "12"}`), "/data/amount", "expected number", 0, false},
			{withData(event("acme", "evt-3", "invoice.paid"), `{"invoiceId": "in_3"}`), "/data/amount", "required", 0, false},
			{withData(event("acme", "evt-4", "invoice.paid"), `{"invoiceId": "in_4", "amount": 1, "x": 1}`), "/data/x", "not allowed (additionalProperties)", 0, false},
			{event("acme", "evt-5", "user.signed_up"), "/data/userId", "required", 0, false}, // a global type
			{withData(event("acme", "evt-6", "invoice.paid"), `[]`), "/data", "expected object", 2, true},
		} {
			evs := []models.Event{c.ev}
			if c.inBatchOfThree {
				evs = []models.Event{withData(event("acme", "ok-1", "invoice.paid"), `{"invoiceId": "a", "amount": 1}`),
					event("acme", "ok-2", "order.created"), c.ev}
			}
			_, err := in.IngestMany(ctx, evs)
			var de *ingest.DataError
			if !errors.As(err, &de) || de.Path != c.path || de.Msg != c.msg || de.Index != c.index {
				t.Errorf("%s %s: %v, want event %d %s: %s", c.ev.Type, c.ev.Data, err, c.index, c.path, c.msg)
			}
		}
		for _, id := range []string{"evt-2", "evt-3", "evt-4", "evt-5", "evt-6", "ok-1", "ok-2"} {
			if _, err := s.GetEvent(ctx, "acme", id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused event %s was stored: %v", id, err)
			}
		}
		// Not strict, unknown, or another tenant's strict type: accepted.
		for _, ev := range []models.Event{
			withData(event("acme", "evt-7", "invoice.noted"), `{"amount": "x"}`),
			withData(event("acme", "evt-8", "order.created"), `"anything"`),
			withData(event("beta", "evt-9", "invoice.paid"), `{"amount": "x"}`),
		} {
			if _, err := in.Ingest(ctx, ev); err != nil {
				t.Errorf("%s/%s: %v", ev.TenantID, ev.Type, err)
			}
		}
	})
}

// TestSchemaChangeAppliesToTheNextEvent: a schema changed (or made strict,
// or deleted) through one replica applies to the next event another
// replica takes, with that replica's cache warm.
func TestSchemaChangeAppliesToTheNextEvent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		et := strictType(t, s, "acme", "invoice.paid", invoiceSchema)
		b := replica(s)
		n := 0
		post := func(data string) error {
			n++
			_, err := b.Ingest(ctx, withData(event("acme", uuid.NewString(), "invoice.paid"), data))
			return err
		}
		stringAmount := `{"invoiceId": "a", "amount": "12.50"}`
		if err := post(stringAmount); err == nil {
			t.Fatal("a string amount was accepted")
		}
		// Replica A makes amount a string.
		et.Schema = json.RawMessage(`{"type": "object", "properties": {"amount": {"type": "string"}}}`)
		if err := s.UpdateEventType(ctx, et, et.Version); err != nil {
			t.Fatal(err)
		}
		if err := post(stringAmount); err != nil {
			t.Fatalf("after the change: %v", err)
		}
		if err := post(`{"amount": 12.5}`); err == nil {
			t.Fatal("the old schema still applies")
		}
		// Not strict any more.
		et.Validate = false
		if err := s.UpdateEventType(ctx, et, et.Version); err != nil {
			t.Fatal(err)
		}
		if err := post(`{"amount": 12.5}`); err != nil {
			t.Fatalf("validate off: %v", err)
		}
		// A new global strict type applies to every tenant at once.
		strictType(t, s, models.GlobalTenant, "user.signed_up", `{"type": "object", "required": ["userId"]}`)
		if _, err := b.Ingest(ctx, event("acme", uuid.NewString(), "user.signed_up")); err == nil {
			t.Fatal("a new global type did not apply")
		}
	})
}

// TestFilterChangesSeenByTheNextEventOnEveryReplica: a content filter
// changed through one replica applies to the next event any replica takes,
// with no wait and no message between them: each ingest reads the tenant's
// versions.
func TestFilterChangesSeenByTheNextEventOnEveryReplica(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := webhook(t, s, "acme", "big-orders", func(w *models.Webhook) {
			w.EventFilters = []models.EventFilter{{EventType: "order.*", Filter: "data.amount > 100"}}
		})
		a, b := replica(s), replica(s)
		delivered := func(in *ingest.Ingester, amount string) bool {
			t.Helper()
			res, err := in.Ingest(ctx, withData(event("acme", uuid.NewString(), "order.created"), `{"amount": `+amount+`}`))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Deliveries) == 1
		}
		// Both replicas have the tenant cached.
		if !delivered(a, "150") || !delivered(b, "150") || delivered(b, "50") {
			t.Fatal("the filter data.amount > 100 does not hold")
		}
		// Replica A's webhooks service saves a new filter (it would tell
		// A's matcher; B hears nothing).
		w.EventFilters = []models.EventFilter{{EventType: "order.*", Filter: "data.amount > 200"}}
		if err := s.UpdateWebhook(ctx, w, w.Version, true); err != nil {
			t.Fatal(err)
		}
		if delivered(b, "150") {
			t.Fatal("replica B's next event still matched the old filter")
		}
		if !delivered(b, "250") || delivered(a, "150") {
			t.Fatal("the new filter does not hold on every replica")
		}
	})
}

// TestContentFiltersDecideDeliveries: of several webhooks of one tenant,
// an event reaches those whose filters' type, entity and content all hold.
func TestContentFiltersDecideDeliveries(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	eur := webhook(t, s, "acme", "eur", func(w *models.Webhook) {
		w.EventFilters = []models.EventFilter{{EventType: "order.*", Filter: `data.amount > 100 && data.currency == "EUR"`}}
	})
	priority := webhook(t, s, "acme", "priority", func(w *models.Webhook) {
		w.EventFilters = []models.EventFilter{{EventType: "*", Filter: `has(data.priority)`}}
	})
	all := webhook(t, s, "acme", "all", nil)
	in := replica(s)
	for _, c := range []struct {
		typ, data string
		want      []string
	}{
		{"order.created", `{"amount": 150, "currency": "EUR"}`, []string{eur.ID, all.ID}},
		{"order.created", `{"amount": 150, "currency": "USD"}`, []string{all.ID}},
		{"order.created", `{"amount": 150.5, "currency": "EUR", "priority": "high"}`, []string{eur.ID, priority.ID, all.ID}},
		{"invoice.paid", `{"amount": 150, "currency": "EUR", "priority": 1}`, []string{priority.ID}},
		{"order.created", `{"currency": "EUR"}`, []string{all.ID}}, // a missing field is no match, not an error
	} {
		res, err := in.Ingest(ctx, withData(event("acme", uuid.NewString(), c.typ), c.data))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, d := range res.Deliveries {
			got[d.WebhookID] = true
		}
		if len(got) != len(c.want) {
			t.Errorf("%s %s reached %d webhooks, want %d", c.typ, c.data, len(got), len(c.want))
		}
		for _, id := range c.want {
			if !got[id] {
				t.Errorf("%s %s did not reach %s", c.typ, c.data, id)
			}
		}
	}
}

// TestOperationalEventsPassContentFilters: the fan-out of webhookd's own
// events applies content filters too.
func TestOperationalEventsPassContentFilters(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	watched := webhook(t, s, "acme", "watched", nil)
	onlyDisabled := webhook(t, s, "acme", "only-disabled", func(w *models.Webhook) {
		w.EventFilters = []models.EventFilter{{EventType: "webhookd.webhook.*", Filter: `data.status == "disabled"`}}
	})
	retrying := webhook(t, s, "acme", "retrying", func(w *models.Webhook) {
		w.EventFilters = []models.EventFilter{{EventType: "webhookd.webhook.*", Filter: `data.status == "awaitingRetry"`}}
	})
	in := replica(s)
	// watched starts failing: a webhookd.webhook.failing event.
	ev := event("acme", "evt-1", "order.created")
	now := store.Now()
	d := models.Delivery{ID: uuid.NewString(), TenantID: "acme", EventID: ev.ID, WebhookID: watched.ID, EventType: ev.Type,
		Status: models.DeliveryPending, Trigger: models.TriggerScheduled, CreatedAt: now, UpdatedAt: now}
	if _, _, _, err := s.IngestEvent(ctx, &ev, []models.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	code := 500
	if err := s.RecordAttempt(ctx, store.AttemptResult{DeliveryID: d.ID, WebhookID: watched.ID,
		DeliveryStatus: models.DeliveryAwaitingRetry, WebhookStatus: models.WebhookAwaitingRetry,
		Attempt: &models.Attempt{DeliveryID: d.ID, Number: 1, Trigger: models.TriggerScheduled, RequestURL: watched.Endpoint,
			ResponseStatus: &code, StartedAt: now, FinishedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if n, _, err := in.FanOut(ctx); err != nil || n != 1 {
		t.Fatalf("fan-out: %d %v", n, err)
	}
	evs, err := s.ListEvents(ctx, store.EventQuery{TenantID: "acme", Type: "webhookd.webhook.failing", Limit: 10})
	if err != nil || len(evs) != 1 {
		t.Fatalf("operational events: %v %v", evs, err)
	}
	ds, err := s.EventDeliveries(ctx, "acme", evs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].WebhookID != retrying.ID {
		t.Fatalf("the failing event went to %+v; want only %s (not %s, whose filter wants disabled)", ds, retrying.ID, onlyDisabled.ID)
	}
}

// TestFilterCountsReachTheStats: what each filter was shown and let through
// is counted in memory and written to the stats, by filter; a reload of the
// tenant's webhooks carries the counts on.
func TestFilterCountsReachTheStats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := webhook(t, s, "acme", "big-orders", func(w *models.Webhook) {
			w.EventFilters = []models.EventFilter{
				{EventType: "order.*", Filter: "data.amount > 100"},
				{EventType: "refund.*"},
			}
		})
		in := replica(s)
		post := func(typ, amount string) {
			t.Helper()
			if _, err := in.Ingest(ctx, withData(event("acme", uuid.NewString(), typ), `{"amount": `+amount+`}`)); err != nil {
				t.Fatal(err)
			}
		}
		post("order.created", "150")
		post("order.created", "5")
		// Another webhook of the tenant changes: the tenant reloads.
		webhook(t, s, "acme", "other", nil)
		post("order.created", "7")
		post("refund.created", "1")
		post("invoice.created", "1")
		if err := in.WriteCounts(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := s.FilterStatsSince(ctx, w.ID, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string][2]int64{}
		for _, c := range got {
			byKey[c.FilterKey] = [2]int64{c.Seen, c.Matched}
		}
		orders, refunds := filter.Key(w.EventFilters[0]), filter.Key(w.EventFilters[1])
		if byKey[orders] != [2]int64{3, 1} || byKey[refunds] != [2]int64{1, 1} || len(byKey) != 2 {
			t.Fatalf("counts %v; want orders (%s) seen 3 matched 1, refunds (%s) 1 and 1", byKey, orders, refunds)
		}
		// Taken once: nothing more to write.
		if c := in.Matcher.TakeCounts(); len(c) != 0 {
			t.Fatalf("counts taken twice: %+v", c)
		}
		// An event counted under a filter that is then edited still
		// reaches the stats, under the old filter's key.
		post("order.created", "500")
		old := w.EventFilters[0]
		w.EventFilters[0].Filter = "data.amount > 1000"
		if err := s.UpdateWebhook(ctx, w, w.Version, true); err != nil {
			t.Fatal(err)
		}
		post("order.created", "500")
		if err := in.WriteCounts(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ = s.FilterStatsSince(ctx, w.ID, time.Now().Add(-time.Hour))
		byKey = map[string][2]int64{}
		for _, c := range got {
			byKey[c.FilterKey] = [2]int64{c.Seen, c.Matched}
		}
		if byKey[filter.Key(old)] != [2]int64{4, 2} || byKey[filter.Key(w.EventFilters[0])] != [2]int64{1, 0} {
			t.Fatalf("after an edit: %v", byKey)
		}
	})
}

// TestWebhooksRoutedByOneField: webhooks whose filter requires one field's
// value are looked up by the event's value there, beside webhooks whose
// filters are run one by one; both reach the same webhooks a filter run
// would, and every one of them counts the events of its type as seen.
func TestWebhooksRoutedByOneField(t *testing.T) {
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	byCustomer := map[string]*models.Webhook{}
	for _, c := range []string{"c-1", "c-2", "c-3"} {
		byCustomer[c] = webhook(t, s, "acme", "customer-"+c, func(w *models.Webhook) {
			w.EventFilters = []models.EventFilter{{EventType: "order.created", Filter: `data.customer.id == "` + c + `" && data.amount > 10`}}
		})
	}
	priority := webhook(t, s, "acme", "priority", func(w *models.Webhook) {
		w.EventFilters = []models.EventFilter{{EventType: "order.created", Filter: `has(data.priority)`}}
	})
	region := webhook(t, s, "acme", "region", func(w *models.Webhook) { // by another field
		w.EventFilters = []models.EventFilter{{EventType: "order.created", Filter: `data.region == "eu"`}}
	})
	in := replica(s)
	for _, c := range []struct {
		data string
		want []*models.Webhook
	}{
		{`{"customer": {"id": "c-2"}, "amount": 50}`, []*models.Webhook{byCustomer["c-2"]}},
		{`{"customer": {"id": "c-2"}, "amount": 5}`, nil}, // the rest of the filter still runs
		{`{"customer": {"id": "c-9"}, "amount": 50, "priority": 1}`, []*models.Webhook{priority}},
		{`{"customer": {"id": 2}, "amount": 50, "region": "eu"}`, []*models.Webhook{region}},
		{`{"amount": 50}`, nil},
	} {
		res, err := in.Ingest(ctx, withData(event("acme", uuid.NewString(), "order.created"), c.data))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, d := range res.Deliveries {
			got[d.WebhookID] = true
		}
		if len(got) != len(c.want) {
			t.Errorf("%s reached %d webhooks, want %d", c.data, len(got), len(c.want))
		}
		for _, w := range c.want {
			if !got[w.ID] {
				t.Errorf("%s did not reach %s", c.data, w.Name)
			}
		}
	}
	// An event of another type is shown to none of them.
	if _, err := in.Ingest(ctx, withData(event("acme", uuid.NewString(), "order.paid"), `{"customer": {"id": "c-1"}}`)); err != nil {
		t.Fatal(err)
	}
	counts := map[string][2]int64{}
	for _, c := range in.Matcher.TakeCounts() {
		counts[c.WebhookID] = [2]int64{c.Seen, c.Matched}
	}
	for name, want := range map[*models.Webhook][2]int64{
		byCustomer["c-1"]: {5, 0}, byCustomer["c-2"]: {5, 1}, byCustomer["c-3"]: {5, 0}, priority: {5, 1}, region: {5, 1},
	} {
		if counts[name.ID] != want {
			t.Errorf("%s: seen, matched %v, want %v", name.Name, counts[name.ID], want)
		}
	}
}
