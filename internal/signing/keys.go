package signing

import (
	"bytes"
	"crypto/ed25519"
)

// signer is one distinct key: an HMAC key, or an Ed25519 signing key.
type signer struct {
	hmac []byte
	ed   ed25519.PrivateKey
}

// distinctKeys derives the key of every non-empty secret, in order,
// dropping keys already seen: a rotation to the same secret (or to its
// whsec_ spelling) must not send the same signature twice. Any undecodable
// secret fails the whole call, so no request goes out half signed.
func distinctKeys(secrets []string) ([]signer, error) {
	var keys []signer
	for _, s := range secrets {
		var k signer
		var err error
		if IsAsymmetric(s) {
			k.ed, err = signingKey(s)
		} else {
			k.hmac, err = Key(s)
		}
		if err != nil {
			return nil, err
		}
		if (k.hmac != nil || k.ed != nil) && !containsKey(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

func containsKey(keys []signer, key signer) bool {
	for _, k := range keys {
		if bytes.Equal(k.hmac, key.hmac) && bytes.Equal(k.ed, key.ed) {
			return true
		}
	}
	return false
}
