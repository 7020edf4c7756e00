package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/input"
)

// decodeJSON reads the request body into v, refusing unknown fields and
// trailing data, and turns decoding errors into messages that name the field.
func decodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return err // *http.MaxBytesError becomes 413
	}
	return decodeBytes(body, v)
}

// decodeOptionalJSON is decodeJSON for routes whose every field is
// optional, and so is the body: an empty body leaves v alone and reports
// false.
func decodeOptionalJSON(c *gin.Context, v any) (bool, error) {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return false, err
	}
	return true, decodeBytes(body, v)
}

func decodeBytes(body []byte, v any) error {
	if t := bytes.TrimSpace(body); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		// null decodes into a zero value without complaint: a null body to
		// POST /dlq/replay would replay the whole dead-letter queue.
		return badRequest("request body is empty or null; send a JSON object")
	}
	// What PostgreSQL cannot store (invalid UTF-8, NUL, lone surrogates,
	// numbers past its numeric) is refused here, naming the field, on
	// both backends alike.
	if err := input.JSON("", body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("malformed JSON: unexpected data after the top-level value")
	}
	// Text fields hold printable text (descriptions and templates may
	// span lines): a control character in a name or a header value is a
	// 400 naming it, whatever the field.
	return input.Fields(v)
}

func jsonError(err error) error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &syntax):
		return badRequest("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return badRequest("request body must be a JSON %s", expectedKind(typeErr.Type.Kind().String()))
		}
		return badRequest("%s: must be %s, not %s", field, expectedKind(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return badRequest("malformed JSON: %v", err)
}

func expectedKind(kind string) string {
	switch kind {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int64", "int32", "uint", "float64":
		return "a number"
	case "bool":
		return "true or false"
	}
	return "a " + kind
}
