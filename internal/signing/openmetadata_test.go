package signing

import (
	"net/http"
	"slices"
	"testing"
)

// Computed outside Go:
//
//	printf '%s' '{"event":"entityCreated","id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
//
// The whsec_ secret is the HMAC key as written, not base64-decoded.
const omWhsecSig = "sha256=f237a7897ffecb113c515215752f29b4bd556ac60431d8ffedbde5b914c4fb52"

func TestOpenMetadataSignatureVectors(t *testing.T) {
	if got := OpenMetadataSignature(vectorSecret, []byte(plainBody)); got != omWhsecSig {
		t.Errorf("whsec_ secret: got %s, want %s", got, omWhsecSig)
	}
	// For a plain secret the key is the same as X-Webhook-Signature's.
	if got := OpenMetadataSignature(plainSecret, []byte(plainBody)); got != plainHexSig {
		t.Errorf("plain secret: got %s, want %s", got, plainHexSig)
	}
	if got := OpenMetadataSignature("", []byte(plainBody)); got != "" {
		t.Errorf("empty secret: got %q, want none", got)
	}
}

func TestSignOpenMetadata(t *testing.T) {
	body := []byte(plainBody)
	tests := []struct {
		name    string
		secrets []string
		want    []string
	}{
		{"one", []string{vectorSecret}, []string{omWhsecSig}},
		{"rotation: the new secret only", []string{plainSecret, vectorSecret}, []string{plainHexSig}},
		{"duplicate", []string{vectorSecret, vectorSecret}, []string{omWhsecSig}},
		{"empty skipped", []string{"", vectorSecret, ""}, []string{omWhsecSig}},
		{"none", nil, nil},
		{"only empty", []string{""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			SignOpenMetadata(h, tt.secrets, body)
			if got := h.Values(HeaderOpenMetadataSignature); !slices.Equal(got, tt.want) {
				t.Errorf("X-OpenMetadata-Signature = %q, want %q", got, tt.want)
			}
			if wantLen := 1 + min(len(tt.want), 1); len(h) != wantLen {
				t.Errorf("headers = %v, want only Content-Type and X-OpenMetadata-Signature", h)
			}
		})
	}
	h := http.Header{HeaderOpenMetadataSignature: {"sha256=forged"}}
	SignOpenMetadata(h, []string{vectorSecret}, body)
	if got := h.Values(HeaderOpenMetadataSignature); !slices.Equal(got, []string{omWhsecSig}) {
		t.Errorf("earlier value not replaced: %q", got)
	}
}
