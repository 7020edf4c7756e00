package app

import (
	"fmt"
	"io"
	"time"

	"github.com/webhookd/webhookd/internal/secrets"
	"github.com/webhookd/webhookd/internal/tenancy"
)

// keygen prints a new ENCRYPTION_KEYS entry, or a TENANT_TOKEN_KEY. Put a
// new encryption key first to rotate (keep the old ones after it until
// `webhookd migrate --reencrypt` has run).
func keygen(stdout io.Writer, tenantKey bool) error {
	var (
		key string
		err error
	)
	if tenantKey {
		key, err = tenancy.GenerateKey()
	} else {
		key, err = secrets.GenerateSpec("k" + time.Now().UTC().Format("20060102"))
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	return nil
}
