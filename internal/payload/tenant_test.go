package payload

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/webhookd/webhookd/models"
)

// envelopeGolden is today's envelope of runFailed(): the default tenant's
// receivers must keep getting exactly these bytes.
const envelopeGolden = `{"id":"550e8400-e29b-41d4-a716-446655440000","version":"1",` +
	`"event":"owox.data-marts.webhook.data_mart.run.failed","timestamp":"2024-01-15T10:30:00.000Z",` +
	`"webhookName":"ops-alerts","data":{"projectId":"my-project-id","run":{"id":"run-xyz789","status":"FAILED"}}}`

func TestEnvelopeTenant(t *testing.T) {
	tests := []struct{ tenant, want string }{
		{"", envelopeGolden},
		{"default", envelopeGolden},
		{"acme", `{"id":"550e8400-e29b-41d4-a716-446655440000","version":"1",` +
			`"event":"owox.data-marts.webhook.data_mart.run.failed","tenantId":"acme","timestamp":"2024-01-15T10:30:00.000Z",` +
			`"webhookName":"ops-alerts","data":{"projectId":"my-project-id","run":{"id":"run-xyz789","status":"FAILED"}}}`},
	}
	for _, tt := range tests {
		m := runFailed()
		m.TenantID = tt.tenant
		for _, typ := range []models.WebhookType{models.WebhookGeneric, models.WebhookCustom} {
			if got := string(mustRender(t, typ, "", m)); got != tt.want {
				t.Errorf("%s envelope for tenant %q:\n got %s\nwant %s", typ, tt.tenant, got, tt.want)
			}
		}
	}
}

func TestCustomTemplateSeesTenant(t *testing.T) {
	const tmpl = `{"tenant": {{json .TenantID}}, "envelopeTenant": {{json .Envelope.tenantId}}}`
	tests := []struct{ tenant, want string }{
		{"acme", `{"tenant": "acme", "envelopeTenant": "acme"}`},
		// .TenantID is as stored; the envelope leaves the default out.
		{"default", `{"tenant": "default", "envelopeTenant": null}`},
	}
	for _, tt := range tests {
		m := tableUpdated(false)
		m.TenantID = tt.tenant
		if got := string(mustRender(t, models.WebhookCustom, tmpl, m)); got != tt.want {
			t.Errorf("tenant %q: got %s, want %s", tt.tenant, got, tt.want)
		}
	}
	if err := ValidateTemplate(context.Background(), "t", tmpl); err != nil {
		t.Errorf("a template using the tenant fails validation: %v", err)
	}
}

func TestTenantOnlyInTheEnvelope(t *testing.T) {
	for _, typ := range []models.WebhookType{models.WebhookSlack, models.WebhookMSTeams, models.WebhookGoogleChat} {
		m := tableUpdated(false)
		want := mustRender(t, typ, "", m)
		m.TenantID = "acme"
		if got := mustRender(t, typ, "", m); string(got) != string(want) {
			t.Errorf("%s body changed with the tenant:\n got %s\nwant %s", typ, got, want)
		}
	}
	m := tableUpdated(false)
	m.TenantID = "acme"
	var body map[string]json.RawMessage
	if err := json.Unmarshal(renderOM(t, m, ""), &body); err != nil {
		t.Fatal(err)
	}
	for k, v := range body {
		if k == "tenantId" || string(v) == `"acme"` {
			t.Errorf("openmetadata body carries the tenant: %s = %s", k, v)
		}
	}
}
