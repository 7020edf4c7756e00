package api

import (
	"log/slog"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/webhookd/webhookd/internal/tenancy"
)

// logIDsKey holds the ids a request touched (logIDs), for its log lines.
const logIDsKey = "webhookd.logIDs"

// logIDs are the tenant, webhook, delivery and event ids a request touched,
// as far as its handler knew them: what an operator greps a log for. Never
// a secret or a payload.
type logIDs struct {
	tenant, webhook, delivery, event string
	// deliveries are the deliveries an ingested event made.
	deliveries []string
}

// noteTenant records the tenant a request acts for (a tenant token's, or
// the one the admin named).
func noteTenant(c *gin.Context, tenant string) { idsOf(c).tenant = tenant }

// noteIngested records an ingested event and the deliveries it made.
func noteIngested(c *gin.Context, eventID string, deliveries []string) {
	ids := idsOf(c)
	ids.event, ids.deliveries = eventID, deliveries
}

func idsOf(c *gin.Context) *logIDs {
	if v, ok := c.Get(logIDsKey); ok {
		return v.(*logIDs)
	}
	ids := &logIDs{}
	c.Set(logIDsKey, ids)
	return ids
}

// requestIDs are the log attributes naming what the request touched: the
// ids its handler noted, and those in its path.
func requestIDs(c *gin.Context) []any {
	ids := *idsOf(c)
	if ids.tenant == "" {
		ids.tenant = callerOf(c).tenant
	}
	// Path ids are the client's input: only well-formed ones are logged.
	if t := c.Param("tenantId"); tenancy.ValidID(t) {
		ids.tenant = t
	}
	id := c.Param("id")
	_, uuidErr := uuid.Parse(id)
	switch route := c.FullPath(); {
	case strings.HasPrefix(route, "/api/v1/webhooks/:id") && uuidErr == nil:
		ids.webhook = id
	case strings.HasPrefix(route, "/api/v1/deliveries/:id") && uuidErr == nil:
		ids.delivery = id
	case route == "/api/v1/events/:id" && eventIDPattern.MatchString(id):
		ids.event = id
	}
	var attrs []any
	for _, kv := range []struct{ k, v string }{{"tenant", ids.tenant}, {"webhook", ids.webhook}, {"delivery", ids.delivery}, {"event", ids.event}} {
		if kv.v != "" {
			attrs = append(attrs, slog.String(kv.k, kv.v))
		}
	}
	if len(ids.deliveries) > 0 {
		attrs = append(attrs, slog.Any("deliveries", ids.deliveries))
	}
	return attrs
}
