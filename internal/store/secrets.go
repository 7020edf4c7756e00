package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/webhookd/webhookd/internal/redact"
	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/models"
)

// Webhook secrets (the signing secret, the previous one during a rotation,
// the values of credential-looking headers: Authorization, X-API-Key, ...,
// an endpoint URL that carries credentials in its query or user info, the
// OAuth2 client secret and the TLS client key)
// are encrypted before they are written and decrypted after they are
// read, so that no plain secret reaches the database, its WAL or its
// backups. Each value carries the id of the key that encrypted it and is
// bound to its place (webhook id and field), so a copied value does not
// decrypt elsewhere.

// UseKeyring makes the store encrypt secrets with k. Without a keyring (some
// tests) secrets are stored as given.
func (s *Store) UseKeyring(k *secrets.Keyring) { s.keyring = k }

func secretPlace(w *models.Webhook, field string) string { return "webhook/" + w.ID + "/" + field }

// previousPlace binds every previous secret to the place the single
// previous secret had before rotations kept several: rows migrated from
// then decrypt unchanged, a previous secret still cannot pass for the
// current one (or for another webhook's), and one previous secret passing
// for another changes nothing.
func previousPlace(w *models.Webhook) string { return secretPlace(w, "previousSecretKey") }

func endpointPlace(w *models.Webhook) string { return secretPlace(w, "endpoint") }

// sealedPrefix starts the endpoint column of a sealed endpoint: its masked
// URL under a host that never resolves, so a release that reads the column
// as the URL (release 2, during an upgrade) fails and retries rather than
// posting without the credentials. This release sends to endpoint_sealed.
const sealedPrefix = "https://sealed.invalid/"

func sealedColumn(masked string) string {
	_, rest, _ := strings.Cut(masked, "://")
	return sealedPrefix + rest
}

// hasURLCredentials reports whether an endpoint carries what reads mask.
func hasURLCredentials(endpoint string) bool { return redact.Endpoint(endpoint) != endpoint }

func headerPlace(w *models.Webhook, name string) string {
	return "webhook/" + w.ID + "/header/" + strings.ToLower(name)
}

// sealed returns a copy of w whose secrets are encrypted.
func (s *Store) sealed(w *models.Webhook) (*models.Webhook, error) {
	c := *w
	if s.keyring == nil {
		return &c, nil
	}
	var err error
	if c.SecretKey, err = s.keyring.Encrypt(w.SecretKey, secretPlace(w, "secretKey")); err != nil {
		return nil, err
	}
	if len(w.PreviousSecrets) > 0 {
		c.PreviousSecrets = slices.Clone(w.PreviousSecrets)
		for i, p := range c.PreviousSecrets {
			if c.PreviousSecrets[i].Key, err = s.keyring.Encrypt(p.Key, previousPlace(w)); err != nil {
				return nil, err
			}
		}
	}
	if w.Auth != nil {
		a := *w.Auth
		if a.ClientSecret, err = s.keyring.Encrypt(a.ClientSecret, secretPlace(w, "auth/clientSecret")); err != nil {
			return nil, err
		}
		c.Auth = &a
	}
	if c.ClientKey, err = s.keyring.Encrypt(w.ClientKey, secretPlace(w, "clientKey")); err != nil {
		return nil, err
	}
	c.EndpointSealed = ""
	if hasURLCredentials(w.Endpoint) {
		if c.EndpointSealed, err = s.keyring.Encrypt(w.Endpoint, endpointPlace(w)); err != nil {
			return nil, err
		}
		c.Endpoint = sealedColumn(redact.Endpoint(w.Endpoint))
	}
	if len(w.Headers) > 0 {
		c.Headers = maps.Clone(w.Headers)
		for name, v := range c.Headers {
			if redact.IsCredential(name) {
				if c.Headers[name], err = s.keyring.Encrypt(v, headerPlace(w, name)); err != nil {
					return nil, err
				}
			}
		}
	}
	return &c, nil
}

// open decrypts w's secrets in place. A value written before encryption was
// turned on is plain: it is read as is (and `webhookd migrate` encrypts it).
func (s *Store) open(w *models.Webhook) error {
	dec := func(v, place string) (string, error) {
		if s.keyring == nil || !secrets.IsEncrypted(v) {
			return v, nil
		}
		plain, err := s.keyring.Decrypt(v, place)
		if err != nil {
			return "", fmt.Errorf("webhook %s: %w", w.ID, err)
		}
		return plain, nil
	}
	var err error
	if w.SecretKey, err = dec(w.SecretKey, secretPlace(w, "secretKey")); err != nil {
		return err
	}
	if w.Auth != nil {
		if w.Auth.ClientSecret, err = dec(w.Auth.ClientSecret, secretPlace(w, "auth/clientSecret")); err != nil {
			return err
		}
	}
	if w.ClientKey, err = dec(w.ClientKey, secretPlace(w, "clientKey")); err != nil {
		return err
	}
	if w.EndpointSealed != "" {
		if w.Endpoint, err = dec(w.EndpointSealed, endpointPlace(w)); err != nil {
			return err
		}
		w.EndpointSealed = ""
	}
	for i, p := range w.PreviousSecrets {
		if w.PreviousSecrets[i].Key, err = dec(p.Key, previousPlace(w)); err != nil {
			return err
		}
	}
	for name, v := range w.Headers {
		if redact.IsCredential(name) {
			if w.Headers[name], err = dec(v, headerPlace(w, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) openAll(ws []models.Webhook) error {
	for i := range ws {
		if err := s.open(&ws[i]); err != nil {
			return err
		}
	}
	return nil
}

// EncryptSecrets encrypts every stored secret that is plain (written before
// encryption was turned on) and, with rotate, re-encrypts those under a key
// other than the current one, so that old keys can be retired. It returns
// how many webhooks it rewrote. It runs beside a live service: a webhook
// changed between the read and the write (its version moved) is read again,
// never overwritten with what it held before.
func (s *Store) EncryptSecrets(ctx context.Context, rotate bool) (int, error) {
	if s.keyring == nil {
		return 0, errors.New("store: no keyring")
	}
	const columns = "id, version, endpoint, endpoint_sealed, secret_key, previous_secrets, headers, auth, client_key"
	rewritten := 0
	for after := ""; ; {
		var ws []models.Webhook
		q := s.db.WithContext(ctx).Select(columns).Order("id").Limit(500)
		if after != "" {
			q = q.Where("id > ?", after)
		}
		if err := q.Find(&ws).Error; err != nil {
			return rewritten, err
		}
		if len(ws) == 0 {
			return rewritten, nil
		}
		for i := range ws {
			raw := ws[i]
			for try := 0; ; try++ {
				result, err := s.encryptOne(ctx, raw, rotate)
				if err != nil {
					return rewritten, err
				}
				if result == rewrote {
					rewritten++
				}
				if result != changedMeanwhile {
					break
				}
				if try == 10 {
					return rewritten, fmt.Errorf("webhook %s keeps changing; run again", raw.ID)
				}
				var again []models.Webhook
				if err := s.db.WithContext(ctx).Select(columns).Where("id = ?", raw.ID).Limit(1).Find(&again).Error; err != nil {
					return rewritten, err
				}
				if len(again) == 0 {
					break // deleted meanwhile
				}
				raw = again[0]
			}
		}
		after = ws[len(ws)-1].ID
	}
}

type encryptResult int

const (
	untouched        encryptResult = iota // nothing needed rewriting
	rewrote                               // rewritten under the current key
	changedMeanwhile                      // the webhook changed since it was read
)

// encryptOne rewrites one webhook's secrets as read in raw, if they need
// it, and only if its version is still raw's.
func (s *Store) encryptOne(ctx context.Context, raw models.Webhook, rotate bool) (encryptResult, error) {
	stale := func(v string) bool {
		return v != "" && (!secrets.IsEncrypted(v) || (rotate && s.keyring.NeedsRotation(v)))
	}
	needs := stale(raw.SecretKey) || stale(raw.EndpointSealed) || (raw.EndpointSealed == "" && hasURLCredentials(raw.Endpoint)) ||
		stale(raw.ClientKey) || (raw.Auth != nil && stale(raw.Auth.ClientSecret))
	for _, p := range raw.PreviousSecrets {
		needs = needs || stale(p.Key)
	}
	for name, v := range raw.Headers {
		needs = needs || (redact.IsCredential(name) && stale(v))
	}
	if !needs {
		return untouched, nil
	}
	plain := raw
	plain.Headers = maps.Clone(raw.Headers)
	plain.PreviousSecrets = slices.Clone(raw.PreviousSecrets)
	if raw.Auth != nil {
		a := *raw.Auth
		plain.Auth = &a
	}
	if err := s.open(&plain); err != nil {
		return untouched, err
	}
	sealed, err := s.sealed(&plain)
	if err != nil {
		return untouched, err
	}
	// The version does not change: the secrets are the same, only their
	// encryption is.
	res := s.db.WithContext(ctx).Model(&models.Webhook{}).Where("id = ? AND version = ?", raw.ID, raw.Version).
		Select("endpoint", "endpoint_sealed", "secret_key", "previous_secrets", "headers", "auth", "client_key").
		Updates(&models.Webhook{Endpoint: sealed.Endpoint, EndpointSealed: sealed.EndpointSealed, SecretKey: sealed.SecretKey,
			PreviousSecrets: sealed.PreviousSecrets, Headers: sealed.Headers, Auth: sealed.Auth, ClientKey: sealed.ClientKey})
	if res.Error != nil {
		return untouched, res.Error
	}
	if res.RowsAffected == 0 {
		return changedMeanwhile, nil
	}
	return rewrote, nil
}
