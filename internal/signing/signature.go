package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// HexSignature is the X-Webhook-Signature value: "sha256=" and the hex
// HMAC-SHA256 of the raw body.
func HexSignature(key, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(key, body))
}

// StandardSignature is the Standard Webhooks webhook-signature value:
// "v1," and the base64 HMAC-SHA256 of "{msgID}.{unix seconds}.{body}".
// Receivers recompute it from the headers, so ts must be the same instant
// that goes into webhook-timestamp.
func StandardSignature(key []byte, msgID string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, signedContent(msgID, ts, body)))
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg) // hash.Hash.Write never returns an error
	return h.Sum(nil)
}
