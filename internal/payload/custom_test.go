package payload

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/models"
)

func TestCustomTemplate(t *testing.T) {
	m := tableUpdated(true)
	m.EventType = `entity"Updated\` // must come out escaped, not break the JSON
	const tmpl = `{"event": {{json .EventType}}, "id": {{json .ID}}, "entity": {{json .Entity}},` +
		` "name": {{json .Envelope.data.entity.name}}, "ts": {{json .Envelope.timestamp}}, "test": {{.IsTest}}}`
	body := mustRender(t, models.WebhookCustom, tmpl, m)
	var got struct {
		Event, ID, Name, TS string
		Entity              map[string]any
		Test                bool
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("custom output is not JSON: %v\n%s", err, body)
	}
	if got.Event != m.EventType || got.ID != "evt_1" || got.Name != "orders" ||
		got.TS != "2024-01-15T10:30:00.000Z" || !got.Test || got.Entity["id"] != "t1" {
		t.Errorf("custom output = %+v from %s", got, body)
	}
}

func TestCustomTemplateInvalidJSON(t *testing.T) {
	// Without json the event type is pasted bare: not JSON.
	_, err := Render(context.Background(), models.WebhookCustom, Options{Template: `{"event": {{.EventType}}}`}, tableUpdated(false))
	if err == nil {
		t.Fatal("template producing invalid JSON was accepted")
	}
	for _, want := range []string{"payloadTemplate", "invalid JSON", "evt_1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestCustomTemplateOutputCap(t *testing.T) {
	// 5,000 pieces of 250 bytes: under the functions' byte budget, over
	// the output cap.
	const tmpl = `["{{range 5000}}{{printf "%0250d" 0}}{{end}}"]`
	_, err := Render(context.Background(), models.WebhookCustom, Options{Template: tmpl}, tableUpdated(false))
	if !errors.Is(err, ErrRenderBudget) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized output error = %v", err)
	}
}

func TestValidateTemplate(t *testing.T) {
	tests := []struct {
		name, tmpl, wantErr string
	}{
		{"empty", "", ""},
		{"valid", `{"e": {{json .EventType}}, "d": {{json .Envelope.data}}}`, ""},
		{"unclosed action", `{"e": {{json .EventType}`, "payloadTemplate"},
		{"unknown function", `{"e": {{yaml .EventType}}}`, `function "yaml" not defined`},
		{"unknown field", `{"e": {{json .Nope}}}`, "can't evaluate field Nope"},
		{"not JSON", `{"e": {{.EventType}}}`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTemplate(context.Background(), "t", tt.tmpl)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateTemplate rejected a good template: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateTemplate error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSmallLoopsAreFine(t *testing.T) {
	// The render budget, not the syntax, bounds loops: small ones over
	// numbers, nested ones and ones in {{define}} blocks all render.
	for _, tmpl := range []string{
		`{"keys":[{{range $k, $v := .Envelope}}{{json $k}},{{end}}""]}`,
		`[{{range $i := 5}}{{$i}},{{end}}5]`,
		`[{{range .Envelope}}{{range $.Envelope}}{{range $.Envelope}}1,{{end}}{{end}}{{end}}1]`,
		`{{define "n"}}{{range 3}}{{.}},{{end}}{{end}}[{{if true}}{{template "n"}}{{end}}3]`,
		`[{{range 3}}{{if eq . 1}}{{continue}}{{end}}{{if eq . 2}}{{break}}{{end}}{{.}},{{end}}0]`,
		`{{range 0}}{{else}}[]{{end}}`,
	} {
		if err := ValidateTemplate(context.Background(), "t", tmpl); err != nil {
			t.Errorf("%s: %v", tmpl, err)
		}
	}
}
