package redact

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	got := URL("https://u:p@chat.googleapis.com/v1/spaces/AAA/messages?key=K123&token=T456#frag")
	if strings.Contains(got, "K123") || strings.Contains(got, "T456") || strings.Contains(got, "u:p") || strings.Contains(got, "frag") {
		t.Fatalf("leaks: %s", got)
	}
	if !strings.Contains(got, "key=") || !strings.Contains(got, "/v1/spaces/AAA/messages") {
		t.Fatalf("lost the shape: %s", got)
	}
	if URL("https://example.com/hooks") != "https://example.com/hooks" {
		t.Fatal("changed a URL with nothing to hide")
	}
}

func TestHeaders(t *testing.T) {
	h := http.Header{}
	for _, k := range []string{"Authorization", "X-Api-Key", "X-Functions-Key", "Ocp-Apim-Subscription-Key", "X-Auth-Token",
		"Cookie", "X-Webhook-Signature", "Proxy-Authorization", "X-Password"} {
		h.Set(k, "secret-value")
	}
	h.Set("X-Team", "data")
	h.Set("Content-Type", "application/json")
	out := Headers(h)
	for k, v := range out {
		if v == "secret-value" {
			t.Errorf("%s not masked", k)
		}
	}
	if out["X-Team"] != "data" || out["Content-Type"] != "application/json" {
		t.Fatalf("masked too much: %v", out)
	}
}

func TestOriginKeepsNoPathOrQuery(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T000/B000/XXXXSECRET":                  "https://hooks.slack.com",
		"https://user:pw@chat.googleapis.com/v1/spaces/A/messages?key=k&token=t": "https://chat.googleapis.com",
		"http://127.0.0.1:8080/hooks":                                            "http://127.0.0.1:8080",
	} {
		if got := Origin(in); got != want {
			t.Errorf("Origin(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/hooks": "https://example.com/hooks",
		"https://chat.googleapis.com/v1/spaces/AAA/messages?key=K1&token=T%2B2": "https://chat.googleapis.com/v1/spaces/AAA/messages?key=********&token=********",
		"https://user:pw@example.com/h":                                         "https://********:********@example.com/h",
		"https://tok@example.com/h?flag&b=&c=3#frag":                            "https://********@example.com/h?********&b=********&c=********#frag",
		"https://example.com/a%20b?x=1":                                         "https://example.com/a%20b?x=********",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", in, got, want)
		}
		// The mask of a mask is itself: a read sent back reads the same.
		if again := Endpoint(want); again != want {
			t.Errorf("Endpoint(%q) = %q: masking a masked URL changed it", want, again)
		}
	}
	creds := URLCredentials("https://u:p4ss@example.com/h?token=T%2B2&flag")
	for _, want := range []string{"u", "p4ss", "T%2B2", "T+2", "flag"} {
		if !slices.Contains(creds, want) {
			t.Errorf("URLCredentials lacks %q: %q", want, creds)
		}
	}
}

// TestEndpointMasksPathTokens: incoming-webhook URLs whose token is in the
// path read back masked, and the masked values are what URLCredentials
// finds in an echo.
func TestEndpointMasksPathTokens(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx": "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/********",
		"https://hooks.slack.com/workflows/T01/A02/123456/tokenABC":                     "https://hooks.slack.com/workflows/T01/A02/123456/********",
		"https://hooks.slack.com/triggers/T01/123456/tokenABC":                          "https://hooks.slack.com/triggers/T01/123456/********",
		"https://discord.com/api/webhooks/1234567890/shorttoken":                        "https://discord.com/api/webhooks/1234567890/********",
		"https://discord.com/api/webhooks/1234567890/shorttoken/slack?wait=true":        "https://discord.com/api/webhooks/1234567890/********/********?wait=********",
		"https://discord.com/api/v10/webhooks/1234567890/" + strings.Repeat("aB3_", 17): "https://discord.com/api/v10/webhooks/1234567890/********",
		"https://hooks.zapier.com/hooks/catch/123456/abc1de2/":                          "https://hooks.zapier.com/hooks/catch/123456/********/",
		"https://acme.webhook.office.com/webhookb2/8f2a6c1e-1b2c-4d5e-9f00-0a1b2c3d4e5f@0a1b2c3d-1111-2222-3333-444455556666/IncomingWebhook/0123456789abcdef0123456789abcdef/8f2a6c1e-1b2c-4d5e-9f00-0a1b2c3d4e5f": "https://acme.webhook.office.com/webhookb2/********/IncomingWebhook/********/********",
		"https://webhook.site/8f2a6c1e-1b2c-4d5e-9f00-0a1b2c3d4e5f": "https://webhook.site/********",
		// The host written as a fully qualified name, and GovSlack.
		"https://hooks.slack.com./services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx":    "https://hooks.slack.com./services/T0123ABCD/B0456EFGH/********",
		"https://hooks.slack-gov.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx": "https://hooks.slack-gov.com/services/T0123ABCD/B0456EFGH/********",
		// Words, dates and versions are not tokens.
		"https://example.com/api/v2/notifications/incoming-webhooks/2024-01-15": "https://example.com/api/v2/notifications/incoming-webhooks/2024-01-15",
		"https://discord.com/channels/123":                                      "https://discord.com/channels/123",
	} {
		if got := Endpoint(in); got != want {
			t.Errorf("Endpoint(%s)\n = %s\nwant %s", in, got, want)
		}
	}
	creds := URLCredentials("https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abc%2Fdefghij")
	if !slices.Contains(creds, "abc%2Fdefghij") || !slices.Contains(creds, "abc/defghij") {
		t.Errorf("URLCredentials: %q", creds)
	}
}
