package payload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/signing"
	"github.com/webhookd/webhookd/models"
)

// received is what an HTTP receiver got: the raw body and the
// X-OpenMetadata-Signature lines.
type received struct {
	body []byte
	sigs []string
}

// deliverOM renders m in the openmetadata format, signs it as a webhook
// with secrets (newest first) is signed, and posts it to a test server.
func deliverOM(t *testing.T, m Message, secrets []string) received {
	t.Helper()
	body, err := Render(context.Background(), models.WebhookGeneric, Options{Format: FormatOpenMetadata, Secret: secrets[0]}, m)
	if err != nil {
		t.Fatal(err)
	}
	var got received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.sigs = r.Header.Values(signing.HeaderOpenMetadataSignature)
	}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := signing.Sign(req.Header, secrets, m.ID, time.Now(), body); err != nil {
		t.Fatal(err)
	}
	signing.SignOpenMetadata(req.Header, secrets, body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !bytes.Equal(got.body, body) {
		t.Fatalf("receiver got %q, sent %q", got.body, body)
	}
	return got
}

// findPython returns the python3 interpreter itself: launchers such as
// pyenv's shims take a second per call, and the test makes many.
func findPython(t *testing.T) string {
	t.Helper()
	shim, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	out, err := exec.Command(shim, "-c", "import sys; print(sys.executable)").Output()
	if exe := strings.TrimSpace(string(out)); err == nil && exe != "" {
		return exe
	}
	return shim
}

// pythonVerify runs OpenMetadata's documented verify_signature on payload.
func pythonVerify(t *testing.T, python string, payload []byte, signature, secret string) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payload.json")
	if err := os.WriteFile(path, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "openmetadata_verify.py"), path, signature, secret)
	// UTF-8 argv and stdout whatever the machine's locale.
	cmd.Env = append(os.Environ(), "PYTHONUTF8=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch verdict := strings.TrimSpace(string(out)); {
	case err == nil && verdict == "True":
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1 && verdict == "False":
		return false
	default:
		t.Fatalf("python verifier failed: %v, stdout %q, stderr %s", err, out, stderr.Bytes())
		return false
	}
}

func TestOpenMetadataDocsVerifierAcceptsOurRequests(t *testing.T) {
	python := findPython(t)
	nonASCII := omEvent()
	nonASCII.Entity = json.RawMessage(`{"name":"Kundentabelle","description":"Größe – 顧客 🚀 \u2028 naïve"}`)

	for _, tt := range []struct {
		name   string
		m      Message
		secret string
		// wantText must appear in the body as is, not \u-escaped, for the
		// non-ASCII cases to test the snippet's UTF-8 encoding.
		wantText string
	}{
		{"whsec secret", omEvent(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "customers"},
		{"plain secret", omEvent(), "plain-secret", "customers"},
		{"non-ASCII body", nonASCII, "plain-secret", "Größe – 顧客 🚀"},
		{"non-ASCII secret", nonASCII, "sécret-ключ", "Größe – 顧客 🚀"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := deliverOM(t, tt.m, []string{tt.secret})
			if !bytes.Contains(got.body, []byte(tt.wantText)) {
				t.Fatalf("body lacks %q as raw text: %s", tt.wantText, got.body)
			}
			if len(got.sigs) != 1 {
				t.Fatalf("X-OpenMetadata-Signature = %q, want one value", got.sigs)
			}
			if !pythonVerify(t, python, got.body, got.sigs[0], tt.secret) {
				t.Fatalf("documented verifier rejected body %s with %s", got.body, got.sigs[0])
			}
			if pythonVerify(t, python, got.body, got.sigs[0], tt.secret+"x") {
				t.Error("documented verifier accepted a wrong secret")
			}
			tampered := bytes.Replace(got.body, []byte(`"Kundentabelle"`), []byte(`"Kundentabelle2"`), 1)
			tampered = bytes.Replace(tampered, []byte(`"customers"`), []byte(`"customers2"`), 1)
			if bytes.Equal(tampered, got.body) {
				t.Fatal("test bug: tampering changed nothing")
			}
			if pythonVerify(t, python, tampered, got.sigs[0], tt.secret) {
				t.Error("documented verifier accepted a tampered body")
			}
			// The body's own signature field, checked with the same
			// function over the body with the field cut out.
			match := signatureSuffix.FindSubmatchIndex(got.body)
			if match == nil {
				t.Fatalf("no signature field at the end of %s", got.body)
			}
			unsigned := append(bytes.Clone(got.body[:match[0]]), '}')
			field := "sha256=" + string(got.body[match[2]:match[3]])
			if !pythonVerify(t, python, unsigned, field, tt.secret) {
				t.Errorf("documented verifier rejected the signature field %s", field)
			}
		})
	}

	t.Run("rotation", func(t *testing.T) {
		newSecret, oldSecret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "old-plain-secret"
		got := deliverOM(t, nonASCII, []string{newSecret, oldSecret})
		// One value, as the documented verifier compares one: the new
		// secret's (a framework joining repeated lines would break both).
		if len(got.sigs) != 1 {
			t.Fatalf("X-OpenMetadata-Signature = %q, want one line", got.sigs)
		}
		if !pythonVerify(t, python, got.body, got.sigs[0], newSecret) {
			t.Error("the header does not verify with the new secret")
		}
		if pythonVerify(t, python, got.body, got.sigs[0], oldSecret) {
			t.Error("the header verifies with the old secret")
		}
	})
}
