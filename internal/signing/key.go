// Package signing signs outbound webhook bodies: the X-Webhook-Signature
// header (hex HMAC-SHA256 of the body), the Standard Webhooks headers
// (webhook-id, webhook-timestamp, webhook-signature) and OpenMetadata's
// X-OpenMetadata-Signature. Every signing call takes the webhook's secrets
// newest first, so a rotated secret can be signed with old and new key
// during a grace period. It does no I/O.
package signing

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// secretPrefix marks a Standard Webhooks / Svix secret whose key is the
// base64 text after it; any other secret is used as its raw UTF-8 bytes.
const secretPrefix = "whsec_"

// Key returns the HMAC key for a webhook secret. An empty secret means "do
// not sign" and yields a nil key.
func Key(secret string) ([]byte, error) {
	if secret == "" {
		return nil, nil
	}
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("decode %s secret: %w", secretPrefix, err)
	}
	// "whsec_" alone would sign with an empty key, which anyone can forge.
	if len(key) == 0 {
		return nil, errors.New("decode " + secretPrefix + " secret: key is empty")
	}
	return key, nil
}
