package deliver

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/webhookd/webhookd/models"
)

// tokenEarly is how long before its expiry a token is replaced: an attempt
// must not set out with a token that lapses on the way.
const tokenEarly = 30 * time.Second

// tokenCache holds each webhook's OAuth2 token (client credentials), shared
// by all its attempts in this process: concurrent attempts wait for one
// fetch instead of each making their own.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*tokenSlot
}

type tokenSlot struct {
	fingerprint [32]byte
	// held is a lock that a waiting attempt can give up on (its context).
	held  chan struct{}
	token *oauth2.Token
}

func (c *tokenCache) slot(id string, a *models.ReceiverAuth) *tokenSlot {
	fp := sha256.Sum256([]byte(strings.Join(append([]string{a.TokenURL, a.ClientID, a.ClientSecret, a.Audience}, a.Scopes...), "\x00")))
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[id]; ok && s.fingerprint == fp {
		return s
	}
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[string]*tokenSlot)
	}
	s := &tokenSlot{fingerprint: fp, held: make(chan struct{}, 1)}
	c.m[id] = s // a changed configuration starts without a token
	return s
}

// token returns wh's access token: the cached one while it is fresh, else
// a new one fetched through client (the webhook's own, so the token URL
// passes the same address checks, proxy and client certificate). rejected
// is a token the receiver just refused (401): it is replaced, unless
// another attempt has replaced it meanwhile.
func (p *Poster) token(ctx context.Context, wh *models.Webhook, client *http.Client, rejected string) (string, error) {
	s := p.tokens.slot(wh.ID, wh.Auth)
	select {
	case s.held <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.held }()
	if t := s.token; t != nil && t.AccessToken != rejected && (t.Expiry.IsZero() || p.Now().Add(tokenEarly).Before(t.Expiry)) {
		return t.AccessToken, nil
	}
	a := wh.Auth
	cfg := clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes}
	if a.Audience != "" {
		cfg.EndpointParams = url.Values{"audience": {a.Audience}}
	}
	t, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err != nil {
		s.token = nil
		return "", err
	}
	s.token = t
	return t.AccessToken, nil
}
