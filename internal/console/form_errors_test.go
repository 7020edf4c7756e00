package console

import (
	"maps"
	"net/http"
	"testing"
)

// TestEveryFieldErrorIsShown: when the API names several fields, each
// goes beside its own form field, and one the form does not show goes
// above it; a single problem still lands beside its field.
func TestEveryFieldErrorIsShown(t *testing.T) {
	f := newForm()
	f.apiErrorOn(&apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Message: "…",
		Errors: []fieldIssue{
			{"name", "must match ^[A-Za-z0-9_.-]{1,128}$"},
			{"webhookConfig.endpoint", "must be an absolute http or https URL"},
			{"webhookConfig.headers.X-Webhook-Id", "set by webhookd on every request; it cannot be overridden"},
			{"webhookConfig.headers.Content-Type", "bodies are JSON; only application/json is allowed"},
			{"webhookConfig.timeout", "must be from 1 to 60 seconds"},
			{"owner.type", "required"},
		}})
	want := map[string]string{
		"name":     "must match ^[A-Za-z0-9_.-]{1,128}$",
		"endpoint": "must be an absolute http or https URL",
		"headers":  "headers.X-Webhook-Id: set by webhookd on every request; it cannot be overridden",
		"timeout":  "must be from 1 to 60 seconds",
	}
	if !maps.Equal(f.Errors, want) {
		t.Errorf("field errors %q, want %q", f.Errors, want)
	}
	if f.FormError != "owner.type: required" {
		t.Errorf("form error %q", f.FormError)
	}

	one := newForm()
	one.apiErrorOn(&apiError{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Message: "webhookConfig.timeout: must be from 1 to 60 seconds"})
	if one.Errors["timeout"] != "must be from 1 to 60 seconds" || one.FormError != "" {
		t.Errorf("one problem: %q %q", one.Errors, one.FormError)
	}
}
