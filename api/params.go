package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/input"
	"github.com/webhookd/webhookd/internal/store"
)

const (
	defaultLimit = 10
	maxLimit     = 1000
)

func limitParam(c *gin.Context) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest("limit: must be an integer from 1 to %d", maxLimit)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of a small JSON object.
func encodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		// A cursor is the client's bytes too: what it holds reaches SQL.
		err = input.JSON("after", b)
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return badRequest("after: not a cursor returned by this API")
	}
	return nil
}

func readBody(c *gin.Context) ([]byte, error) {
	return io.ReadAll(c.Request.Body)
}

// notFoundAs turns store.ErrNotFound into a 404 with a specific message and
// passes any other error through.
func notFoundAs(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound(format, args...)
	}
	return err
}
