package redact

import (
	"net/http"
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
