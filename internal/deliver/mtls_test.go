package deliver

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/attempt"
	"github.com/webhookd/webhookd/internal/safehttp"
	"github.com/webhookd/webhookd/internal/testcert"
	"github.com/webhookd/webhookd/models"
)

// TestClientCertificate: a receiver that requires a client certificate
// (RequireAndVerifyClientCert) accepts the webhook that has one, and
// refuses another webhook to the same URL that has none: the certificate
// is that webhook's alone.
func TestClientCertificate(t *testing.T) {
	ca := testcert.NewCA(t)
	var subjects []string
	srv := ca.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subjects = append(subjects, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	roots := testcert.ServerPool(srv)
	opts := safehttp.Options{AllowPrivate: true, TLS: &tls.Config{RootCAs: roots}}
	var built atomic.Int32
	p := &Poster{
		Client: safehttp.NewClient(opts),
		ClientWith: func(c *tls.Config) *http.Client {
			built.Add(1)
			o := opts
			c.RootCAs = roots // the test server's own certificate
			o.TLS = c
			return safehttp.NewClient(o)
		},
		Version: "test", Now: time.Now,
	}
	cert, key := ca.Client(t, "webhook-a", time.Now().Add(time.Hour))
	withCert := &models.Webhook{ID: "a", Name: "a", WebhookType: models.WebhookGeneric, Endpoint: srv.URL, TimeoutSeconds: 5,
		ClientCertificate: cert, ClientKey: key}
	without := &models.Webhook{ID: "b", Name: "b", WebhookType: models.WebhookGeneric, Endpoint: srv.URL, TimeoutSeconds: 5}
	post := func(wh *models.Webhook) attempt.Result {
		return p.Post(context.Background(), Request{Webhook: wh, Event: &models.Event{ID: "evt-1", Type: "t", Timestamp: time.Now()},
			Attempt: 1, Trigger: models.TriggerScheduled})
	}
	for range 2 {
		if res := post(withCert); res.Outcome != attempt.Success {
			t.Fatalf("with the certificate: %s %+v", res.Outcome, res.Attempt)
		}
		res := post(without)
		if res.Outcome != attempt.Failure || res.Attempt.StatusCode != 0 || !strings.Contains(res.Attempt.Error, "certificate") {
			t.Fatalf("without a certificate: %s %+v", res.Outcome, res.Attempt)
		}
	}
	if strings.Join(subjects, ",") != "webhook-a,webhook-a" || built.Load() != 1 {
		t.Fatalf("receiver saw %q; clients built %d, want 1 (kept while the certificate is)", subjects, built.Load())
	}
	// A new certificate gets a new client.
	withCert.ClientCertificate, withCert.ClientKey = ca.Client(t, "webhook-a2", time.Now().Add(time.Hour))
	if res := post(withCert); res.Outcome != attempt.Success || subjects[len(subjects)-1] != "webhook-a2" || built.Load() != 2 {
		t.Fatalf("after a new certificate: %s, receiver saw %q, built %d", res.Outcome, subjects, built.Load())
	}
	// A stored pair that does not match (changed behind the API's back)
	// is refused without a retry, the key never in the error.
	withCert.ClientKey = key
	res := post(withCert)
	if res.Outcome != attempt.Rejected || strings.Contains(res.Attempt.Error, "PRIVATE KEY") {
		t.Fatalf("a broken pair: %s %+v", res.Outcome, res.Attempt)
	}
}
