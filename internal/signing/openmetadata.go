package signing

import (
	"encoding/hex"
	"net/http"
	"slices"
)

// OpenMetadataSignature is "sha256=" and the hex HMAC-SHA256 of body keyed
// with the secret's UTF-8 bytes, as OpenMetadata's documented receiver
// computes it (hmac.new(secret_key.encode('utf-8'), ...)). Unlike Key, a
// whsec_ secret is NOT base64-decoded here: receivers written from
// OpenMetadata's docs use the secret string as is. An empty secret yields "".
func OpenMetadataSignature(secret string, body []byte) string {
	if secret == "" {
		return ""
	}
	return "sha256=" + hex.EncodeToString(mac([]byte(secret), body))
}

// SignOpenMetadata sets X-OpenMetadata-Signature on h: one header line per
// distinct non-empty secret, newest first, as Sign does for
// X-Webhook-Signature. It is meant for webhooks with the openmetadata
// payload format, which get Sign's headers as well. With no secret h is
// untouched. It cannot fail: the secrets are used as they are.
func SignOpenMetadata(h http.Header, secrets []string, body []byte) {
	var seen []string
	for _, s := range secrets {
		if s == "" || slices.Contains(seen, s) {
			continue
		}
		if len(seen) == 0 {
			h.Del(HeaderOpenMetadataSignature)
		}
		seen = append(seen, s)
		h.Add(HeaderOpenMetadataSignature, OpenMetadataSignature(s, body))
	}
}
