package main

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/store/storetest"
)

// emptyPostgres creates a PostgreSQL database with no schema at all.
func emptyPostgres(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(storetest.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := u.String()
	name := fmt.Sprintf("webhookd_empty_%d", time.Now().UnixNano())
	storetest.Exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() { storetest.Exec(t, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}
