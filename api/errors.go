package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/catalog"
	"github.com/webhookd/webhookd/internal/dispatch"
	"github.com/webhookd/webhookd/internal/eventtypes"
	"github.com/webhookd/webhookd/internal/ingest"
	"github.com/webhookd/webhookd/internal/payload"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/internal/webhooks"
)

// Error is the one error shape the API returns: {"code": "...", "message": "..."}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Errors lists every field's problem when a validation found more
	// than one (the message names them all too), so a form can show each
	// beside its field.
	Errors []FieldProblem `json:"errors,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration `json:"-"`
}

// FieldProblem is one field's problem: its JSON path and what is wrong.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// invalidFields reports several fields at once: the message joins them,
// Errors lists them.
func invalidFields(list webhooks.FieldErrors) *Error {
	e := &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Message: list.Error()}
	for _, fe := range list {
		e.Errors = append(e.Errors, FieldProblem{Field: fe.Path, Message: fe.Msg})
	}
	return e
}

func (e *Error) Error() string { return e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Message: fmt.Sprintf(format, args...)}
}

// invalid reports a field that parsed but is not acceptable; field is the
// JSON path the user wrote (webhookConfig.endpoint, eventFilters[0].eventType).
func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_field", Message: field + ": " + fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: "conflict", Message: fmt.Sprintf(format, args...)}
}

// fail records err for the error middleware, which renders it once.
func fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

// renderErrors is the single place errors become HTTP responses. Only
// unexpected (5xx) errors are logged: client mistakes are the client's.
func renderErrors(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		apiErr := toAPIError(c.Errors.Last().Err)
		if apiErr.RetryAfter > 0 {
			c.Header("Retry-After", strconv.FormatInt(int64((apiErr.RetryAfter+time.Second-1)/time.Second), 10))
		}
		if apiErr.Status >= 500 {
			log.ErrorContext(c.Request.Context(), "request failed", append([]any{"method", c.Request.Method,
				"route", c.FullPath(), "error", c.Errors.Last().Err}, requestIDs(c)...)...)
		}
		c.AbortWithStatusJSON(apiErr.Status, apiErr)
	}
}

// databaseDown answers requests while the database is unreachable.
var databaseDown = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
	Message: "the database is unreachable; nothing was stored, retry later", RetryAfter: 5 * time.Second}

func toAPIError(err error) *Error {
	var (
		apiErr    *Error
		tooBig    *http.MaxBytesError
		refused   *dispatch.RefusedError
		badField  *webhooks.FieldError
		badFields webhooks.FieldErrors
		nameTaken *webhooks.NameTakenError
		secrets   *store.TooManySecretsError
		quota     *store.QuotaError
		badType   *catalog.FieldError
		typeTaken *eventtypes.NameTakenError
		badData   *ingest.DataError
	)
	if e, ok := inputError(err); ok {
		return e
	}
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit)}
	case errors.As(err, &badFields):
		return invalidFields(badFields)
	case errors.As(err, &badField):
		return invalid(badField.Path, "%s", badField.Msg)
	case errors.As(err, &nameTaken):
		return conflict("%s", nameTaken.Error())
	case errors.As(err, &quota):
		return &Error{Status: http.StatusTooManyRequests, Code: "quota_exceeded", Message: quota.Error(), RetryAfter: quota.RetryAfter}
	case errors.As(err, &secrets):
		return conflict("%s", secrets.Error())
	case errors.As(err, &badType):
		return invalid(badType.Path, "%s", badType.Msg)
	case errors.As(err, &typeTaken):
		return conflict("%s", typeTaken.Error())
	case errors.Is(err, eventtypes.ErrBuiltIn):
		return conflict("%s", eventtypes.ErrBuiltIn.Error())
	case errors.As(err, &badData):
		// A single event's data: the batch handler names the event.
		return invalid(badData.Path, "%s", badData.Msg)
	case errors.As(err, &refused):
		return conflict("%s", refused.Reason)
	case errors.Is(err, payload.ErrRenderBusy):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: payload.ErrRenderBusy.Error(), RetryAfter: time.Second}
	case errors.Is(err, store.ErrNotFound):
		return notFound("not found")
	case errors.Is(err, store.ErrStale):
		return conflict("the resource changed since it was read; read it again and retry")
	case errors.Is(err, store.ErrConflict):
		// Never the error's text: it carries the database's own message
		// (constraint names, values). Callers that know which resource
		// clashed say so themselves (nameTaken).
		return conflict("the request conflicts with an existing resource")
	case store.IsUnavailable(err):
		// Checked last: only what nothing above explains. Nothing was
		// stored, so the client retries the same request (an event with
		// the same id or Idempotency-Key is never stored twice).
		return databaseDown
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"}
}
