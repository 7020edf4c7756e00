package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

type apiEventSummary struct {
	ID         string           `json:"id"`
	TenantID   string           `json:"tenantId"`
	Type       string           `json:"type"`
	EntityType string           `json:"entityType"`
	IsTest     bool             `json:"isTest"`
	Timestamp  string           `json:"timestamp"`
	CreatedAt  string           `json:"createdAt"`
	Deliveries map[string]int64 `json:"deliveries"`
}

type apiEventList struct {
	Data   []apiEventSummary `json:"data"`
	Paging apiPaging         `json:"paging"`
}

type apiEvent struct {
	apiEventSummary
	Entity            json.RawMessage `json:"entity"`
	ChangeDescription json.RawMessage `json:"changeDescription"`
	Data              json.RawMessage `json:"data"`
	Deliveries        []apiDelivery   `json:"deliveries"`
}

// statusCount is one status of an event's deliveries, for the list.
type statusCount struct {
	Status string
	Count  int64
}

type eventRow struct {
	apiEventSummary
	Counts []statusCount
}

type eventsPage struct {
	Rows               []eventRow
	Type, Tenant, Find string
	Next               string
	Problem            string
}

// events lists events newest first, by type; an id typed in the search
// goes straight to that event.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	in := r.URL.Query()
	p := eventsPage{Type: in.Get("type"), Find: in.Get("id")}
	if s.IsAdmin() {
		p.Tenant = in.Get("tenantId")
	}
	if p.Find != "" {
		c.redirect(w, r, eventPath(p.Find, p.Tenant))
		return
	}
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	for k, v := range map[string]string{"type": p.Type, "tenantId": p.Tenant, "after": in.Get("after")} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list apiEventList
	if err := c.call(r, s, http.MethodGet, "/api/v1/events?"+q.Encode(), nil, &list); err != nil {
		if e := (*apiError)(nil); errors.As(err, &e) && e.Status == http.StatusBadRequest {
			p.Problem = e.Message
			c.render(w, r, http.StatusBadRequest, "events", view{Title: "Events", Nav: "events", Data: p})
			return
		}
		c.fail(w, r, err)
		return
	}
	for _, ev := range list.Data {
		row := eventRow{apiEventSummary: ev}
		for status, n := range ev.Deliveries {
			row.Counts = append(row.Counts, statusCount{status, n})
		}
		sort.Slice(row.Counts, func(i, j int) bool { return row.Counts[i].Status < row.Counts[j].Status })
		p.Rows = append(p.Rows, row)
	}
	if list.Paging.After != "" {
		next := r.URL.Query()
		next.Set("after", list.Paging.After)
		p.Next = "/console/events?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "events", view{Title: "Events", Nav: "events", Data: p})
}

// eventPath is the console page of an event (ids are per tenant).
func eventPath(id, tenant string) string {
	path := "/console/events/" + url.PathEscape(id)
	if tenant != "" {
		path += "?" + url.Values{"tenantId": {tenant}}.Encode()
	}
	return path
}

type eventPage struct {
	Event apiEvent
	// Payload is the event's data, entity and changeDescription (those it
	// has), pretty-printed.
	Payload []payloadPart
	// Webhooks names the webhooks of the deliveries, by id.
	Webhooks map[string]string
}

type payloadPart struct{ Name, Body string }

// maxNamedWebhooks bounds the webhook reads an event page makes to name
// its deliveries' webhooks; more show their ids.
const maxNamedWebhooks = 25

// event shows an event with its payload and its deliveries, across every
// webhook it matched.
func (c *Console) event(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	path := "/api/v1/events/" + url.PathEscape(r.PathValue("id"))
	if t := r.URL.Query().Get("tenantId"); t != "" && s.IsAdmin() {
		path += "?" + url.Values{"tenantId": {t}}.Encode()
	}
	var p eventPage
	if err := c.call(r, s, http.MethodGet, path, nil, &p.Event); err != nil {
		c.fail(w, r, err)
		return
	}
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"data", p.Event.Data}, {"entity", p.Event.Entity}, {"changeDescription", p.Event.ChangeDescription}} {
		if len(part.raw) > 0 && string(part.raw) != "null" {
			p.Payload = append(p.Payload, payloadPart{Name: part.name, Body: prettyJSON(string(part.raw))})
		}
	}
	p.Webhooks = map[string]string{}
	for _, d := range p.Event.Deliveries {
		if _, seen := p.Webhooks[d.WebhookID]; seen || len(p.Webhooks) >= maxNamedWebhooks {
			continue
		}
		var wh apiWebhook
		if err := c.call(r, s, http.MethodGet, "/api/v1/webhooks/"+url.PathEscape(d.WebhookID), nil, &wh); err == nil {
			p.Webhooks[d.WebhookID] = wh.Name
		} else {
			p.Webhooks[d.WebhookID] = "" // deleted: its id shows
		}
	}
	c.render(w, r, http.StatusOK, "event", view{Title: "Event " + p.Event.ID, Nav: "events", Data: p})
}
