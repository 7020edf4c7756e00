package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// TestBuiltinNamesAreWebhookds: the catalog's names are the ones the code
// that writes those events uses.
func TestBuiltinNamesAreWebhookds(t *testing.T) {
	for _, p := range [][2]string{
		{TypeWebhookFailing, store.EventWebhookFailing},
		{TypeWebhookRetryLimitReached, store.EventWebhookRetryLimitReached},
		{TypeWebhookDisabled, store.EventWebhookDisabled},
		{TypeWebhookRecovered, store.EventWebhookRecovered},
		{TypeBatch, models.BatchEventType},
	} {
		if p[0] != p[1] {
			t.Errorf("catalog says %s, the code writes %s", p[0], p[1])
		}
	}
	var names []string
	for _, b := range Builtins() {
		names = append(names, b.Name)
		if !b.BuiltIn || b.TenantID != models.GlobalTenant || b.ID != b.Name || b.Version != 1 || !strings.HasPrefix(b.Name, ReservedPrefix) {
			t.Errorf("%s: %+v", b.Name, b)
		}
	}
	if !slices.IsSorted(names) || len(names) != 6 {
		t.Errorf("built-ins: %v", names)
	}
	if b, ok := Builtin(TypeTest); !ok || b.Name != TypeTest {
		t.Errorf("Builtin(%s) = %v %v", TypeTest, b.Name, ok)
	}
	if _, ok := Builtin("order.created"); ok {
		t.Error("order.created is no built-in")
	}
}

// TestBuiltinsAreValid: each built-in's schema compiles and its examples
// are valid against it, as Check demands of any type (the reserved name
// aside).
func TestBuiltinsAreValid(t *testing.T) {
	for _, b := range Builtins() {
		b.Name = "x" + b.Name
		if err := Check(&b); err != nil {
			t.Errorf("%s: %v", b.Name[1:], err)
		}
		var examples []json.RawMessage
		if err := json.Unmarshal(b.Examples, &examples); err != nil || len(examples) == 0 {
			t.Errorf("%s has no examples: %v", b.Name[1:], err)
		}
	}
}

// TestBuiltinSchemasMatchWhatWebhookdSends validates data as webhookd
// writes it against the built-in schemas.
func TestBuiltinSchemasMatchWhatWebhookdSends(t *testing.T) {
	for name, data := range map[string]string{
		TypeWebhookFailing: `{"webhookId":"0190a000-0000-7000-8000-000000000001","webhookName":"orders","status":"awaitingRetry",
			"failureDetails":{"lastFailedAt":1767225600000,"lastFailedStatusCode":500,"lastFailedReason":"500 Internal Server Error","nextAttempt":1767225660000}}`,
		TypeWebhookRecovered: `{"webhookId":"0190a000-0000-7000-8000-000000000001","webhookName":"orders","status":"active","failureDetails":{}}`,
		TypeTest:             `{"message":"This is a test event from webhookd.","webhookId":"0190a000-0000-7000-8000-000000000001","webhookName":"orders"}`,
		TypeBatch: `{"count":2,"events":[
			{"id":"evt_1","version":"1","event":"order.created","tenantId":"acme","timestamp":"2026-01-01T00:00:00.000Z","webhookName":"orders","data":{"orderId":1}},
			{"id":"evt_2","version":"1","event":"order.paid","timestamp":"2026-01-01T00:00:00.001Z","isTest":true,"webhookName":"orders","data":null}]}`,
	} {
		b, _ := Builtin(name)
		s, err := CompileSchema(b.Schema)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := s.Validate(json.RawMessage(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestWithBuiltins(t *testing.T) {
	stored := func(names ...string) []models.EventType {
		var out []models.EventType
		for _, n := range names {
			out = append(out, models.EventType{Name: n})
		}
		return out
	}
	names := func(ts []models.EventType) string {
		var out []string
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return strings.Join(out, " ")
	}
	cases := []struct {
		page  []models.EventType
		after string
		limit int
		total int64 // stored types the whole list shows
		want  string
	}{
		// First page, full: built-ins before the last stored name join it.
		{stored("a.x", "user.created", "zeta"), "", 3, 40, "a.x user.created webhookd.batch"},
		// A short last page takes every built-in after the cursor.
		{stored("zeta"), "webhookd.batch", 5, 40, "webhookd.test webhookd.webhook.disabled webhookd.webhook.failing webhookd.webhook.recovered webhookd.webhook.retryLimitReached"},
		{stored("zz"), "webhookd.webhook.retryLimitReached", 5, 40, "zz"},
		{nil, "", 2, 0, "webhookd.batch webhookd.test"},
	}
	for _, c := range cases {
		got, total := WithBuiltins(c.page, c.total, c.after, c.limit)
		if names(got) != c.want || total != c.total+6 {
			t.Errorf("WithBuiltins(%s after %q, %d) = %s (%d), want %s (%d)", names(c.page), c.after, c.limit, names(got), total, c.want, c.total+6)
		}
	}
}
