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

// SignOpenMetadata sets X-OpenMetadata-Signature on h to the signature by
// the first non-empty secret (the newest). One value only, even during a
// rotation: OpenMetadata's documented receiver compares the header with one
// signature, and frameworks join repeated lines into a value it would
// reject. It is meant for webhooks with the openmetadata payload format,
// which get Sign's headers as well. With no secret h is untouched.
func SignOpenMetadata(h http.Header, secrets []string, body []byte) {
	if i := slices.IndexFunc(secrets, func(s string) bool { return s != "" }); i >= 0 {
		h.Set(HeaderOpenMetadataSignature, OpenMetadataSignature(secrets[i], body))
	}
}
