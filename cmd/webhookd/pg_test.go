package main

import (
	"testing"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// emptyPostgres creates a PostgreSQL database with no schema at all.
func emptyPostgres(t *testing.T) string { return storetest.EmptyPostgresURL(t) }

// testEncryptionKeys is an ENCRYPTION_KEYS for commands run by tests.
const testEncryptionKeys = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
