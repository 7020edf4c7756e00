package deliver

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/webhookd/webhookd/models"
)

// maxCached bounds the per-webhook caches (clients, tokens): past it they
// start again empty. Tests of unsaved webhooks (a new id each) would
// otherwise grow them forever.
const maxCached = 10_000

// errClientCertificate is a stored client certificate that cannot be used:
// the attempt is refused, not retried.
var errClientCertificate = errors.New("client certificate")

// clientCache holds a client per webhook with a client certificate, built
// once and kept while the certificate and key stay the same, so that its
// connections are reused.
type clientCache struct {
	mu sync.Mutex
	m  map[string]cachedClient
}

type cachedClient struct {
	fingerprint [32]byte
	client      *http.Client
}

// clientFor returns the client for wh's requests: the shared one, or for a
// webhook with a client certificate (mTLS) a client presenting it and used
// for that webhook only.
func (p *Poster) clientFor(wh *models.Webhook) (*http.Client, error) {
	if wh.ClientCertificate == "" {
		return p.Client, nil
	}
	if p.ClientWith == nil {
		return nil, fmt.Errorf("%w: not supported by this delivery client", errClientCertificate)
	}
	fp := sha256.Sum256([]byte(wh.ClientCertificate + "\x00" + wh.ClientKey))
	c := &p.clients
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[wh.ID]
	if ok && old.fingerprint == fp {
		return old.client, nil
	}
	pair, err := tls.X509KeyPair([]byte(wh.ClientCertificate), []byte(wh.ClientKey))
	if err != nil {
		// The API validates the pair; a stored one that fails was changed
		// behind its back. Never echo the key in the error.
		return nil, fmt.Errorf("%w: %w", errClientCertificate, err)
	}
	client := p.ClientWith(&tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}})
	if ok {
		old.client.CloseIdleConnections()
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]cachedClient)
	}
	c.m[wh.ID] = cachedClient{fingerprint: fp, client: client}
	return client, nil
}
