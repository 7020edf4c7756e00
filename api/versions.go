package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// A webhook's version names its configuration: every change moves it (by
// 0.1, as OpenMetadata does). Reads carry it as the ETag, and a PUT or
// PATCH may state which version it changes (If-Match, or a PUT body's
// version): a write based on an older read is refused instead of undoing
// a change the writer never saw.

// etag is the entity tag of a webhook's configuration: its version.
func etag(w *models.Webhook) string {
	return `"` + strconv.FormatFloat(w.Version, 'f', -1, 64) + `"`
}

// writeWebhook answers one webhook with its ETag.
func (s *server) writeWebhook(c *gin.Context, status int, w *models.Webhook) {
	c.Header("ETag", etag(w))
	c.JSON(status, toWebhookJSON(w, s.href(c, w.ID)))
}

// checkIfMatch refuses a write whose If-Match names no current version of w
// (412, as RFC 9110 asks). "*" matches any webhook that exists; weak tags
// never match (a strong comparison).
func checkIfMatch(c *gin.Context, w *models.Webhook) error {
	h := c.GetHeader("If-Match")
	if h == "" {
		return nil
	}
	want := etag(w)
	for _, tag := range strings.Split(h, ",") {
		if tag = strings.TrimSpace(tag); tag == "*" || tag == want {
			return nil
		}
	}
	return preconditionFailed("If-Match: the webhook is at version %s (ETag %s); read it again and retry", want[1:len(want)-1], want)
}

// checkBodyVersion refuses a PUT whose body states another version than
// the stored one (409); a body without a version is not checked.
func checkBodyVersion(in webhookJSON, w *models.Webhook) error {
	if in.Version == 0 || sameVersion(in.Version, w.Version) {
		return nil
	}
	return conflict("version: the webhook is at version %s, not %s: it changed since it was read; read it again and retry",
		strconv.FormatFloat(w.Version, 'f', -1, 64), strconv.FormatFloat(in.Version, 'f', -1, 64))
}

// sameVersion compares versions in tenths, where they live.
func sameVersion(a, b float64) bool { return math.Round(a*10) == math.Round(b*10) }

// staleWrite is the answer to a write that lost the race with another one
// after its checks: the same answer the checks give.
func staleWrite(c *gin.Context, err error) error {
	if !errors.Is(err, store.ErrStale) {
		return err
	}
	if c.GetHeader("If-Match") != "" {
		return preconditionFailed("If-Match: the webhook changed since it was read; read it again and retry")
	}
	return conflict("version: the webhook changed since it was read; read it again and retry")
}

func preconditionFailed(format string, args ...any) *Error {
	e := conflict(format, args...)
	e.Status, e.Code = http.StatusPreconditionFailed, "precondition_failed"
	return e
}
