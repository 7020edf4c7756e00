package store

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// IsUnavailable reports whether err means the database could not be reached
// or dropped the connection, rather than refused the statement: the same
// request can succeed once it is back (the API answers 503, not 500).
func IsUnavailable(err error) bool {
	var (
		pgErr   *pgconn.PgError
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	switch {
	case err == nil:
		return false
	case errors.As(err, &pgErr):
		// Class 08 is "connection exception"; 57P01-57P03 are a server
		// shutting down, crashed or still starting; 53300 is too many
		// connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "53300" ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	case errors.As(err, &connErr), errors.As(err, &netErr), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	}
	// pgx marks errors that happened before anything reached the server.
	return pgconn.SafeToRetry(err)
}
