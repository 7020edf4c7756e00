package signing

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names set by Sign and SignOpenMetadata. http.Header canonicalises
// them (webhook-id becomes Webhook-Id, X-OpenMetadata-Signature becomes
// X-Openmetadata-Signature); HTTP header names are case-insensitive, and
// the official verifiers look them up with Get.
const (
	HeaderSignature             = "X-Webhook-Signature"
	HeaderStandardID            = "webhook-id"
	HeaderStandardTimestamp     = "webhook-timestamp"
	HeaderStandardSignature     = "webhook-signature"
	HeaderOpenMetadataSignature = "X-OpenMetadata-Signature"
)

// Sign sets the signature headers for body on h, one signature per distinct
// key in secrets. secrets lists the webhook's keys newest first: during a
// secret rotation's grace period that is the new and the old secret, so
// receivers that still hold the old one keep verifying. Empty secrets are
// skipped; with none left h is untouched. On error h is untouched too.
//
// Per key, newest first:
//   - webhook-signature gets "v1,<base64>" ("v1a,<base64>" for a whsk_
//     signing key), space-separated, as the Standard
//     Webhooks spec lists multiple signatures (webhook-id and
//     webhook-timestamp are set once);
//   - X-Webhook-Signature gets one header line "sha256=<hex>", so receivers
//     must accept the request if any value matches (Go: h.Values; Node joins
//     repeated lines into one string with ", "); a whsk_ key adds none,
//     since only a shared secret can make an HMAC.
//
// msgID must be stable across retries (receivers use webhook-id to
// deduplicate); ts should be the time of this attempt, because receivers
// reject timestamps outside a tolerance.
func Sign(h http.Header, secrets []string, msgID string, ts time.Time, body []byte) error {
	keys, err := distinctKeys(secrets)
	if err != nil {
		return fmt.Errorf("sign webhook %s: %w", msgID, err)
	}
	if len(keys) == 0 {
		return nil
	}
	std := make([]string, len(keys))
	// Del first: the protocol headers replace anything set before them.
	h.Del(HeaderSignature)
	for i, key := range keys {
		if key.ed != nil {
			std[i] = AsymmetricSignature(key.ed, msgID, ts, body)
			continue
		}
		h.Add(HeaderSignature, HexSignature(key.hmac, body))
		std[i] = StandardSignature(key.hmac, msgID, ts, body)
	}
	h.Set(HeaderStandardID, msgID)
	h.Set(HeaderStandardTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderStandardSignature, strings.Join(std, " "))
	return nil
}
