package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/input"
)

// Bounds on what a client may send outside a body. Ids, names, filters and
// cursors are far shorter; these only keep every value storable and
// printable text before any handler sees it.
const (
	maxPathParam  = 512
	maxQueryValue = 2048
)

// textHeaders are the request headers whose values the API stores, sends
// on or compares, with their bounds.
var textHeaders = map[string]int{
	"X-Webhookd-User": 128,
	"Idempotency-Key": 200,
	"If-Match":        256,
}

// checkInputs refuses, on every route, path parameters, query parameters
// and the headers above that are not short, printable UTF-8 text: PostgreSQL
// refuses invalid UTF-8 and NUL (a 500), Temporal ids and logs must not
// carry control characters. Bodies are checked where they are decoded
// (decodeBytes). The answer is a 400 naming the parameter.
func checkInputs() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := inputsOf(c.Request, c.Params); err != nil {
			fail(c, err)
		}
	}
}

func inputsOf(r *http.Request, params gin.Params) error {
	for _, p := range params {
		if err := input.Text(p.Key, p.Value, maxPathParam); err != nil {
			return err
		}
	}
	for key, values := range r.URL.Query() {
		if err := input.Text("query parameter", key, maxQueryValue); err != nil {
			return err
		}
		for _, v := range values {
			if err := input.Text(key, v, maxQueryValue); err != nil {
				return err
			}
		}
	}
	for name, max := range textHeaders {
		for _, v := range r.Header.Values(name) {
			if err := input.Text(name, v, max); err != nil {
				return err
			}
		}
	}
	return nil
}

// inputError is the API's answer to bytes that cannot be stored: 400,
// naming the field.
func inputError(err error) (*Error, bool) {
	var e *input.Error
	if !errors.As(err, &e) {
		return nil, false
	}
	return badRequest("%s", fmt.Sprintf("%s: %s", e.Path, e.Msg)), true
}
