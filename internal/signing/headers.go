package signing

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Header names set by Sign. http.Header canonicalises the Standard Webhooks
// names (webhook-id becomes Webhook-Id); HTTP header names are
// case-insensitive, and the official verifiers look them up with Get.
const (
	HeaderSignature         = "X-Webhook-Signature"
	HeaderStandardID        = "webhook-id"
	HeaderStandardTimestamp = "webhook-timestamp"
	HeaderStandardSignature = "webhook-signature"
)

// Sign sets the signature headers for body on h when secret is non-empty,
// and leaves h untouched when it is empty. msgID must be stable across
// retries (receivers use webhook-id to deduplicate); ts should be the time
// of this attempt, because receivers reject timestamps outside a tolerance.
func Sign(h http.Header, secret, msgID string, ts time.Time, body []byte) error {
	if secret == "" {
		return nil
	}
	key, err := Key(secret)
	if err != nil {
		return fmt.Errorf("sign webhook %s: %w", msgID, err)
	}
	h.Set(HeaderSignature, HexSignature(key, body))
	h.Set(HeaderStandardID, msgID)
	h.Set(HeaderStandardTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderStandardSignature, StandardSignature(key, msgID, ts, body))
	return nil
}
