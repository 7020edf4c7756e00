package signing

import "bytes"

// distinctKeys derives the HMAC key of every non-empty secret, in order,
// dropping keys already seen: a rotation to the same secret (or to its
// whsec_ spelling) must not send the same signature twice. Any undecodable
// secret fails the whole call, so no request goes out half signed.
func distinctKeys(secrets []string) ([][]byte, error) {
	var keys [][]byte
	for _, s := range secrets {
		key, err := Key(s)
		if err != nil {
			return nil, err
		}
		if key != nil && !containsKey(keys, key) {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

func containsKey(keys [][]byte, key []byte) bool {
	for _, k := range keys {
		if bytes.Equal(k, key) {
			return true
		}
	}
	return false
}
