package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

type dlqPage struct {
	Rows    []apiDelivery
	Filters logFilters
	// Matched is the dry run's count: what "Replay all" would replay (-1:
	// not counted).
	Matched int
	Next    string
	Problem string
}

// deadLetters lists failed deliveries with the filters of the API, and
// counts what "Replay all" would replay (a dry run of the same filters).
func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	p := dlqPage{Filters: filtersOf(r)}
	p.Filters.Status = ""
	if !s.IsAdmin() {
		p.Filters.Tenant = ""
	}
	q, problem := p.Filters.query()
	if problem == "" {
		q.Set("limit", strconv.Itoa(pageSize))
		if after := r.URL.Query().Get("after"); after != "" {
			q.Set("after", after)
		}
		var list apiDeliveryList
		err := c.call(r, s, http.MethodGet, "/api/v1/dlq?"+q.Encode(), nil, &list)
		p.Matched = -1
		// A dry run is a POST, which the API refuses to read-only tokens
		// (they see the list, without the count).
		if err == nil && s.CanWrite() {
			var dry apiDLQReplay
			err = c.call(r, s, http.MethodPost, "/api/v1/dlq/replay", p.Filters.replayBody(true), &dry)
			p.Matched = dry.Matched
		}
		var e *apiError
		switch {
		case errors.As(err, &e) && (e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity):
			problem = e.Message
		case err != nil:
			c.fail(w, r, err)
			return
		}
		p.Rows = list.Data
		if list.Paging.After != "" {
			next := r.URL.Query()
			next.Set("after", list.Paging.After)
			p.Next = "/console/dlq?" + next.Encode()
		}
	}
	status := http.StatusOK
	if problem != "" {
		p.Problem, status = problem, http.StatusBadRequest
	}
	c.render(w, r, status, "dlq", view{Title: "Dead-letter queue", Nav: "dlq", Data: p})
}

// confirmReplay asks before "Replay all", saying how many dead letters the
// filters match now (a dry run): a replay cannot be taken back.
func (c *Console) confirmReplay(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	f := filtersOf(r)
	f.Status = ""
	if !s.IsAdmin() {
		f.Tenant = ""
	}
	var dry apiDLQReplay
	if err := c.call(r, s, http.MethodPost, "/api/v1/dlq/replay", f.replayBody(true), &dry); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "replayconfirm", view{Title: "Replay dead letters?", Nav: "dlq",
		Data: dlqPage{Filters: f, Matched: dry.Matched}})
}

// replayBody is POST /dlq/replay's body for the filters.
func (f logFilters) replayBody(dryRun bool) map[string]any {
	b := map[string]any{"dryRun": dryRun}
	for k, v := range map[string]string{"tenantId": f.Tenant, "webhookId": f.WebhookID, "eventType": f.EventType} {
		if v != "" {
			b[k] = v
		}
	}
	for k, v := range map[string]string{"since": f.Since, "until": f.Until} {
		if t, err := parseLocal(v); v != "" && err == nil {
			b[k] = t.Format(time.RFC3339)
		}
	}
	return b
}

// replayDeadLetters starts "Replay all" for the filters of the form and
// goes to the job's progress page.
func (c *Console) replayDeadLetters(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	f := logFilters{Tenant: r.PostFormValue("tenantId"), WebhookID: r.PostFormValue("webhookId"),
		EventType: r.PostFormValue("eventType"), Since: r.PostFormValue("since"), Until: r.PostFormValue("until")}
	if !s.IsAdmin() {
		f.Tenant = ""
	}
	var job apiDLQReplay
	if err := c.call(r, s, http.MethodPost, "/api/v1/dlq/replay", f.replayBody(false), &job); err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/console/dlq/jobs/"+url.PathEscape(job.JobID))
}

// replayJob shows a bulk replay's progress; while it runs, htmx reloads
// the progress part every second (?part=progress).
func (c *Console) replayJob(w http.ResponseWriter, r *http.Request) {
	var job apiDLQReplay
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/dlq/replay/"+url.PathEscape(r.PathValue("id")), nil, &job); err != nil {
		c.fail(w, r, err)
		return
	}
	if job.JobID == "" {
		job.JobID = r.PathValue("id")
	}
	v := view{Title: "Replaying dead letters", Nav: "dlq", Data: job}
	if r.URL.Query().Get("part") == "progress" {
		c.renderFragment(w, r, http.StatusOK, "job", "progress", v)
		return
	}
	c.render(w, r, http.StatusOK, "job", v)
}
