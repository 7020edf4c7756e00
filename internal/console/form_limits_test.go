package console

import "testing"

// TestFormCarriesLimits: the edit form reads a webhook's limits and writes
// them back; empty fields leave the defaults; a non-number is caught.
func TestFormCarriesLimits(t *testing.T) {
	two, half := 2, 0.5
	w := apiWebhook{WebhookConfig: apiWebhookConfig{MaxConcurrency: &two, RateLimit: &half},
		EventFilters: []apiEventFilter{{EventType: "*"}}}
	f := formFromWebhook(w)
	if f.MaxConcurrency != "2" || f.RateLimit != "0.5" {
		t.Fatalf("form %q %q", f.MaxConcurrency, f.RateLimit)
	}
	cfg := f.apply(nil)["webhookConfig"].(map[string]any)
	if cfg["maxConcurrency"] != 2 || cfg["rateLimit"] != 0.5 || len(f.Errors) != 0 {
		t.Fatalf("written back as %v (errors %v)", cfg, f.Errors)
	}
	f.MaxConcurrency, f.RateLimit = "", ""
	cfg = f.apply(map[string]any{"webhookConfig": map[string]any{"maxConcurrency": 2, "rateLimit": 0.5}})["webhookConfig"].(map[string]any)
	if _, ok := cfg["maxConcurrency"]; ok {
		t.Fatalf("an emptied field kept its value: %v", cfg)
	}
	if _, ok := cfg["rateLimit"]; ok {
		t.Fatalf("an emptied rate limit kept its value: %v", cfg)
	}
	f.MaxConcurrency, f.RateLimit = "many", "fast"
	f.apply(nil)
	if f.Errors["maxConcurrency"] == "" || f.Errors["rateLimit"] == "" {
		t.Fatalf("errors %v", f.Errors)
	}
}
