package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// eventLister lists events and counts their deliveries by status.
type eventLister interface {
	ListEvents(ctx context.Context, q store.EventQuery) ([]models.Event, error)
	DeliveryCounts(ctx context.Context, evs []models.Event) (map[[2]string]map[models.DeliveryStatus]int64, error)
}

// eventSummary is one row of the events list.
type eventSummary struct {
	ID         string           `json:"id"`
	TenantID   string           `json:"tenantId"`
	Type       string           `json:"type"`
	EntityType string           `json:"entityType,omitempty"`
	IsTest     bool             `json:"isTest,omitempty"`
	Timestamp  string           `json:"timestamp"`
	CreatedAt  string           `json:"createdAt"`
	Deliveries map[string]int64 `json:"deliveries"`
}

type eventList struct {
	Data   []eventSummary `json:"data"`
	Paging struct {
		After string `json:"after,omitempty"`
	} `json:"paging"`
}

type eventCursor struct {
	CreatedAt time.Time `json:"t"`
	TenantID  string    `json:"n"`
	ID        string    `json:"i"`
}

// listEvents lists events newest first (the caller's tenant; the admin's
// every tenant, or ?tenantId=), each with its deliveries counted by status:
// ?type=&since=&until=&limit=&after=.
func (s *server) listEvents(c *gin.Context) {
	var q store.EventQuery
	var err error
	if q.Limit, err = limitParam(c); err != nil {
		fail(c, err)
		return
	}
	if q.TenantID, err = listTenant(c); err != nil {
		fail(c, err)
		return
	}
	if q.Type = c.Query("type"); q.Type != "" && !eventTypePattern.MatchString(q.Type) {
		fail(c, badRequest("type: 1-256 characters of A-Z a-z 0-9 _ . : / -"))
		return
	}
	if q.Since, err = timeParam(c, "since"); err != nil {
		fail(c, err)
		return
	}
	if q.Until, err = timeParam(c, "until"); err != nil {
		fail(c, err)
		return
	}
	if after := c.Query("after"); after != "" {
		var cur eventCursor
		if err := decodeCursor(after, &cur); err != nil || cur.ID == "" {
			fail(c, badRequest("after: not a cursor returned by this API"))
			return
		}
		q.AfterCreated, q.AfterTenantID, q.AfterID = cur.CreatedAt, cur.TenantID, cur.ID
	}
	limit := q.Limit
	q.Limit++
	ctx := c.Request.Context()
	evs, err := s.store.ListEvents(ctx, q)
	if err != nil {
		fail(c, err)
		return
	}
	var out eventList
	out.Data = []eventSummary{}
	if len(evs) > limit {
		evs = evs[:limit]
		last := evs[limit-1]
		out.Paging.After = encodeCursor(eventCursor{CreatedAt: last.CreatedAt, TenantID: last.TenantID, ID: last.ID})
	}
	counts, err := s.store.DeliveryCounts(ctx, evs)
	if err != nil {
		fail(c, err)
		return
	}
	for _, ev := range evs {
		byStatus := map[string]int64{}
		for st, n := range counts[[2]string{ev.TenantID, ev.ID}] {
			byStatus[string(st)] = n
		}
		out.Data = append(out.Data, eventSummary{ID: ev.ID, TenantID: ev.TenantID, Type: ev.Type, EntityType: ev.EntityType,
			IsTest: ev.IsTest, Timestamp: isoTime(ev.Timestamp), CreatedAt: isoTime(ev.CreatedAt), Deliveries: byStatus})
	}
	c.JSON(http.StatusOK, out)
}
