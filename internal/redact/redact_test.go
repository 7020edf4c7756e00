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
