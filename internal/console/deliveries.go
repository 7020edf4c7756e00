package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

var deliveryStatuses = []string{"pending", "delivering", "awaitingRetry", "held", "succeeded", "failed", "cancelled"}

// logFilters are the filters of a delivery list, as the page's form sends
// them: time range inputs are datetime-local, read as UTC.
type logFilters struct {
	Status, EventType, Since, Until string
	WebhookID, Tenant               string
}

func filtersOf(r *http.Request) logFilters {
	q := r.URL.Query()
	return logFilters{Status: q.Get("status"), EventType: q.Get("eventType"), Since: q.Get("since"), Until: q.Get("until"),
		WebhookID: q.Get("webhookId"), Tenant: q.Get("tenantId")}
}

// query is the API's query for f; a time it cannot read is an error on
// that field.
func (f logFilters) query() (url.Values, string) {
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "eventType": f.EventType, "webhookId": f.WebhookID, "tenantId": f.Tenant} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for k, v := range map[string]string{"since": f.Since, "until": f.Until} {
		if v == "" {
			continue
		}
		t, err := parseLocal(v)
		if err != nil {
			return nil, k + ": use the date picker's format (2026-01-31T13:45)"
		}
		q.Set(k, t.Format(time.RFC3339))
	}
	return q, ""
}

// parseLocal reads a datetime-local value (or RFC 3339) as UTC.
func parseLocal(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Parse(time.RFC3339, v)
}

type deliveriesPage struct {
	Webhook  apiWebhook
	Rows     []apiDelivery
	Filters  logFilters
	Statuses []string
	Next     string
	Problem  string
}

// deliveries is a webhook's delivery log, newest first, with filters and
// cursor paging (the API's keyset pages: as fast on page 400 as on page 1).
func (c *Console) deliveries(w http.ResponseWriter, r *http.Request) {
	wh, _, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := deliveriesPage{Webhook: wh, Filters: filtersOf(r), Statuses: deliveryStatuses}
	p.Filters.WebhookID, p.Filters.Tenant = "", ""
	q, problem := p.Filters.query()
	if problem != "" {
		p.Problem = problem
		c.render(w, r, http.StatusBadRequest, "deliveries", view{Title: wh.Name + ": deliveries", Nav: "webhooks", Data: p})
		return
	}
	q.Set("limit", strconv.Itoa(pageSize))
	if after := r.URL.Query().Get("after"); after != "" {
		q.Set("after", after)
	}
	var list apiDeliveryList
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/webhooks/"+wh.ID+"/deliveries?"+q.Encode(), nil, &list); err != nil {
		if e := (*apiError)(nil); errors.As(err, &e) && e.Status == http.StatusBadRequest {
			p.Problem = e.Message
			c.render(w, r, http.StatusBadRequest, "deliveries", view{Title: wh.Name + ": deliveries", Nav: "webhooks", Data: p})
			return
		}
		c.fail(w, r, err)
		return
	}
	p.Rows = list.Data
	if list.Paging.After != "" {
		next := r.URL.Query()
		next.Set("after", list.Paging.After)
		p.Next = "/console/webhooks/" + wh.ID + "/deliveries?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "deliveries", view{Title: wh.Name + ": deliveries", Nav: "webhooks", Data: p})
}

type deliveryPage struct {
	Delivery apiDelivery
	Webhook  apiWebhook
	// WorkflowURL opens the delivery's workflow in the Temporal Web UI.
	WorkflowURL string
	// Body is the request body, pretty-printed.
	Body string
	// Attempts are the delivery's attempts, newest first.
	Attempts []attemptView
	// Live: an attempt is under way, so the page follows it.
	Live bool
}

// attemptView is an attempt with whether its request carried Body exactly
// (it started after the webhook's last change) or an earlier version.
type attemptView struct {
	apiAttempt
	BodyAsSent bool
}

// inFlight are the statuses in which an attempt is yet to end.
var inFlight = map[string]bool{"pending": true, "delivering": true}

// delivery shows one delivery with its request body and every attempt,
// newest first. While an attempt is under way (after a resend, say), htmx
// reloads the live part every second until it ends (?part=live).
func (c *Console) delivery(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	var p deliveryPage
	if err := c.call(r, s, http.MethodGet, "/api/v1/deliveries/"+url.PathEscape(r.PathValue("id"))+"?include=body", nil, &p.Delivery); err != nil {
		c.fail(w, r, err)
		return
	}
	d := &p.Delivery
	p.Live = inFlight[d.Status]
	if d.RequestBody != nil {
		p.Body = prettyJSON(*d.RequestBody)
	}
	for i := len(d.AttemptLog) - 1; i >= 0; i-- {
		a := d.AttemptLog[i]
		p.Attempts = append(p.Attempts, attemptView{apiAttempt: a, BodyAsSent: d.RequestBodyAsOf != "" && a.StartedAt >= d.RequestBodyAsOf})
	}
	if r.URL.Query().Get("part") == "live" {
		c.renderFragment(w, r, http.StatusOK, "delivery", "live", view{Data: p})
		return
	}
	if err := c.call(r, s, http.MethodGet, "/api/v1/webhooks/"+p.Delivery.WebhookID, nil, &p.Webhook); err != nil {
		if e := (*apiError)(nil); !errors.As(err, &e) || e.Status != http.StatusNotFound { // a deleted webhook's delivery
			c.fail(w, r, err)
			return
		}
	}
	if c.workflowURL != nil {
		p.WorkflowURL = c.workflowURL(p.Delivery.ID)
	}
	c.render(w, r, http.StatusOK, "delivery", view{Title: "Delivery " + p.Delivery.ID, Nav: "webhooks", Flash: flash(r), Data: p})
}

// resend replays a delivery: a new run of its workflow, a new attempt.
func (c *Console) resend(w http.ResponseWriter, r *http.Request) {
	id := url.PathEscape(r.PathValue("id"))
	if err := c.call(r, sessionOf(r), http.MethodPost, "/api/v1/deliveries/"+id+"/replay", nil, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/console/deliveries/"+id+"?flash=resent")
}

// prettyJSON indents a JSON text for reading; anything else stays as it is.
func prettyJSON(s string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(s), "", "  "); err != nil {
		return s
	}
	return b.String()
}
