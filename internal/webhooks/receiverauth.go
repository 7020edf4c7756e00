package webhooks

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/models"
)

const (
	maxScopes         = 20
	maxCertificatePEM = 64 << 10
	maxKeyPEM         = 16 << 10
)

// checkAuth validates webhookConfig.auth against the webhook as stored (w)
// and the endpoint it is going to have. nil means no auth.
func checkAuth(in *Auth, w *models.Webhook, endpoint string, headers map[string]string, allowPrivate bool) (*models.ReceiverAuth, error) {
	if in == nil {
		return nil, nil
	}
	const field = "webhookConfig.auth"
	if in.Type != models.AuthOAuth2 {
		return nil, invalid(field+".type", "unknown type %q: use oauth2", in.Type)
	}
	if err := checkURL(field+".tokenUrl", in.TokenURL, allowPrivate); err != nil {
		return nil, err
	}
	if in.ClientID == "" || len(in.ClientID) > 256 {
		return nil, invalid(field+".clientId", "required, at most 256 characters")
	}
	if len(in.ClientSecret) > 4096 {
		return nil, invalid(field+".clientSecret", "at most 4096 characters")
	}
	if len(in.Scopes) > maxScopes {
		return nil, invalid(field+".scopes", "at most %d scopes", maxScopes)
	}
	for i, sc := range in.Scopes {
		// RFC 6749 §3.3: scope tokens are printable ASCII without spaces,
		// quotes or backslashes.
		if sc == "" || len(sc) > 256 || strings.ContainsFunc(sc, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' }) {
			return nil, invalid(fmt.Sprintf("%s.scopes[%d]", field, i), "a scope is printable ASCII without spaces, quotes or backslashes")
		}
	}
	if len(in.Audience) > 1024 {
		return nil, invalid(field+".audience", "at most 1024 characters")
	}
	for name := range headers {
		if strings.EqualFold(name, "Authorization") {
			return nil, invalid("webhookConfig.headers."+name, "set from webhookConfig.auth's token; leave it out")
		}
	}
	secret := in.ClientSecret
	if secret == redact.Mask {
		// The secret goes to the token URL and its token to the endpoint:
		// a mask keeps it only while neither moves, nor the client id.
		old := w.Auth
		if old == nil || old.ClientSecret == "" {
			return nil, invalid(field+".clientSecret", "send the secret itself, not its mask")
		}
		if !credentialsFollow(w.Endpoint, endpoint) || old.TokenURL != in.TokenURL || old.ClientID != in.ClientID {
			return nil, invalid(field+".clientSecret", "the endpoint, token URL or client id changed: send the secret itself, not its mask")
		}
		secret = old.ClientSecret
	}
	if secret == "" {
		return nil, invalid(field+".clientSecret", "required")
	}
	return &models.ReceiverAuth{
		Type: in.Type, TokenURL: in.TokenURL, ClientID: in.ClientID, ClientSecret: secret,
		Scopes: slices.Clone(in.Scopes), Audience: in.Audience,
	}, nil
}

// checkTLS validates webhookConfig.tls: the certificate parses and has not
// expired, and the key parses and is the certificate's. It returns the
// certificate and key to store ("" and "" for none). endpoint is the one
// the webhook is going to have.
func checkTLS(in *TLS, w *models.Webhook, endpoint string, now time.Time) (cert, key string, err error) {
	if in == nil {
		return "", "", nil
	}
	const field = "webhookConfig.tls"
	cert, key = in.ClientCertificate, in.ClientKey
	if len(cert) > maxCertificatePEM {
		return "", "", invalid(field+".clientCertificate", "at most %d KiB", maxCertificatePEM>>10)
	}
	if len(key) > maxKeyPEM {
		return "", "", invalid(field+".clientKey", "at most %d KiB", maxKeyPEM>>10)
	}
	leaf, err := parseLeaf(cert)
	if err != nil {
		return "", "", invalid(field+".clientCertificate", "%v", err)
	}
	if now.After(leaf.NotAfter) {
		return "", "", invalid(field+".clientCertificate", "expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if key == redact.Mask {
		// A read document sent back: the stored key, for the same
		// certificate only (a new certificate comes with its key), and
		// the same endpoint: the certificate authenticates webhookd to
		// whichever host the endpoint names, so one who cannot read the
		// key must not point it at another (as with credential headers).
		if w.ClientKey == "" || w.ClientCertificate != cert {
			return "", "", invalid(field+".clientKey", "send the key itself, not its mask (a stored key is kept only with its certificate)")
		}
		if !credentialsFollow(w.Endpoint, endpoint) {
			return "", "", invalid(field+".clientKey", "the endpoint changed: send the key itself, not its mask")
		}
		key = w.ClientKey
	}
	if key == "" {
		return "", "", invalid(field+".clientKey", "required with clientCertificate")
	}
	if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
		return "", "", invalid(field+".clientKey", "not a PEM private key matching clientCertificate (%v)", err)
	}
	return cert, key, nil
}

// parseLeaf reads the first certificate of a PEM chain, refusing anything
// that is not certificates.
func parseLeaf(chain string) (*x509.Certificate, error) {
	var leaf *x509.Certificate
	rest := []byte(chain)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("a PEM %q block where only CERTIFICATE blocks belong", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if leaf == nil {
			leaf = c
		}
	}
	if leaf == nil {
		return nil, fmt.Errorf("required: a PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return leaf, nil
}

// CertificateExpiry is when a stored client certificate expires (reads
// show it); zero when there is none or it does not parse.
func CertificateExpiry(chain string) time.Time {
	if chain == "" {
		return time.Time{}
	}
	leaf, err := parseLeaf(chain)
	if err != nil {
		return time.Time{}
	}
	return leaf.NotAfter
}
