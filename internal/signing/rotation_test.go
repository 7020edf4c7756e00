package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// handHex and handStd compute the two signatures with crypto/hmac directly,
// as a receiver would, independently of HexSignature and StandardSignature.
func handHex(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func handStd(key []byte, msgID string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + strconv.FormatInt(ts.Unix(), 10) + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignOneKeyIsUnchanged(t *testing.T) {
	ts := time.Unix(plainUnix, 0)
	h := signed(t, []string{plainSecret}, plainMsgID, ts, []byte(plainBody))
	if got := h.Values(HeaderSignature); !slices.Equal(got, []string{plainHexSig}) {
		t.Errorf("X-Webhook-Signature = %q, want exactly [%s]", got, plainHexSig)
	}
	if got := h.Values(HeaderStandardSignature); !slices.Equal(got, []string{plainStdSigV}) {
		t.Errorf("webhook-signature = %q, want exactly [%s]", got, plainStdSigV)
	}
	if got := h.Values(HeaderStandardID); !slices.Equal(got, []string{plainMsgID}) {
		t.Errorf("webhook-id = %q", got)
	}
}

func TestSignTwoKeysEachVerifiesAlone(t *testing.T) {
	body := []byte(`{"id":"evt_42","version":"1","event":"entityUpdated","data":{}}`)
	now := time.Now() // Verify enforces its 5 minute tolerance
	newKey, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vectorSecret, "whsec_"))
	oldKey := []byte(plainSecret)
	h := signed(t, []string{vectorSecret, plainSecret}, "evt_42", now, body)

	// What each receiver configures in the official library, which always
	// base64-decodes (after an optional whsec_ prefix).
	for name, libSecret := range map[string]string{
		"new key": vectorSecret,
		"old key": base64.StdEncoding.EncodeToString(oldKey),
	} {
		wh, err := standardwebhooks.NewWebhook(libSecret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("%s alone: official library rejected the request: %v (headers %v)", name, err, h)
		}
	}
	// Control: the library does check the signatures against the key.
	other, _ := standardwebhooks.NewWebhook(base64.StdEncoding.EncodeToString([]byte("third key")))
	if err := other.Verify(body, h); err == nil {
		t.Error("a key that signed nothing verified")
	}

	wantStd := handStd(newKey, "evt_42", now, body) + " " + handStd(oldKey, "evt_42", now, body)
	if got := h.Values(HeaderStandardSignature); !slices.Equal(got, []string{wantStd}) {
		t.Errorf("webhook-signature = %q, want one line %q (new first, space-separated)", got, wantStd)
	}
	wantHex := []string{handHex(newKey, body), handHex(oldKey, body)}
	if got := h.Values(HeaderSignature); !slices.Equal(got, wantHex) {
		t.Errorf("X-Webhook-Signature = %q, want %q (one line per key, new first)", got, wantHex)
	}
	for _, name := range []string{HeaderStandardID, HeaderStandardTimestamp} {
		if got := h.Values(name); len(got) != 1 {
			t.Errorf("%s = %q, want one value", name, got)
		}
	}
}

func TestSignDuplicateKeysSignOnce(t *testing.T) {
	body := []byte(`{"a":1}`)
	ts := time.Unix(plainUnix, 0)
	// The same key spelled as a whsec_ secret and as its raw text.
	sameAsPlain := "whsec_" + base64.StdEncoding.EncodeToString([]byte(plainSecret))
	for _, secrets := range [][]string{
		{plainSecret, plainSecret},
		{plainSecret, sameAsPlain},
		{"", plainSecret, ""},
	} {
		h := signed(t, secrets, "evt_1", ts, body)
		if got := h.Values(HeaderSignature); !slices.Equal(got, []string{handHex([]byte(plainSecret), body)}) {
			t.Errorf("secrets %q: X-Webhook-Signature = %q, want one signature", secrets, got)
		}
		if got := h.Get(HeaderStandardSignature); got != handStd([]byte(plainSecret), "evt_1", ts, body) {
			t.Errorf("secrets %q: webhook-signature = %q, want one signature", secrets, got)
		}
	}
}

func TestSignReplacesEarlierSignatureHeaders(t *testing.T) {
	h := http.Header{}
	h.Set(HeaderSignature, "sha256=forged")
	h.Set(HeaderStandardSignature, "v1,forged")
	if err := Sign(h, []string{plainSecret}, "evt_1", time.Unix(plainUnix, 0), []byte(plainBody)); err != nil {
		t.Fatal(err)
	}
	if got := h.Values(HeaderSignature); !slices.Equal(got, []string{plainHexSig}) {
		t.Errorf("X-Webhook-Signature = %q, want only ours", got)
	}
	if got := h.Values(HeaderStandardSignature); !slices.Equal(got, []string{plainStdSigV}) {
		t.Errorf("webhook-signature = %q, want only ours", got)
	}
}
