package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/internal/keyfile"
)

// GenerateSpec returns a keyring spec with one fresh random key named id,
// ready for ParseKeyring or to put in front of an existing spec.
func GenerateSpec(id string) (string, error) {
	if !validKeyID(id) {
		return "", fmt.Errorf("key id %q must be 1-%d characters from A-Z a-z 0-9 _ -", id, maxKeyIDLen)
	}
	key := make([]byte, KeySize)
	rand.Read(key) // never returns an error; it crashes the program instead
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// LoadOrCreateKeyFile returns the keyring spec stored at path, creating the
// file with a new key (id "dev" and the date) the first time. It is for
// `webhookd dev`, which must work without setup yet keep reading what it
// encrypted on earlier runs.
func LoadOrCreateKeyFile(path string) (spec string, created bool, err error) {
	id := "dev" + time.Now().UTC().Format("20060102")
	return keyfile.LoadOrCreate(path, func() (string, error) { return GenerateSpec(id) })
}
