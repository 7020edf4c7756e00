package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// eventTypesPage is the catalog: the types a tenant's producers post, with
// their schema and examples.
type eventTypesPage struct {
	Rows   []apiEventType
	Tenant string
	Total  int64
	Next   string
}

// eventTypes lists the catalog by name: the tenant's own types, the global
// ones and webhookd's built-in ones (the admin sees every tenant's, or
// one's).
func (c *Console) eventTypes(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	var p eventTypesPage
	if s.IsAdmin() {
		if p.Tenant = r.URL.Query().Get("tenantId"); p.Tenant != "" {
			q.Set("tenantId", p.Tenant)
		}
	}
	if after := r.URL.Query().Get("after"); after != "" {
		q.Set("after", after)
	}
	var list apiEventTypeList
	if err := c.call(r, s, http.MethodGet, "/api/v1/event-types?"+q.Encode(), nil, &list); err != nil {
		c.fail(w, r, err)
		return
	}
	p.Rows = list.Data
	if list.Paging.Total != nil {
		p.Total = *list.Paging.Total
	}
	if list.Paging.After != "" {
		next := r.URL.Query()
		next.Set("after", list.Paging.After)
		p.Next = "/console/event-types?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "eventtypes", view{Title: "Event types", Nav: "event-types", Data: p})
}

// eventTypePage is one type: its schema and examples pretty-printed.
type eventTypePage struct {
	Type     apiEventType
	Schema   string
	Examples []string
}

func (c *Console) eventType(w http.ResponseWriter, r *http.Request) {
	var p eventTypePage
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/event-types/"+url.PathEscape(r.PathValue("id")), nil, &p.Type); err != nil {
		c.fail(w, r, err)
		return
	}
	if len(p.Type.Schema) > 0 {
		p.Schema = prettyJSON(string(p.Type.Schema))
	}
	var examples []json.RawMessage
	_ = json.Unmarshal(p.Type.Examples, &examples) // absent: none
	for _, ex := range examples {
		p.Examples = append(p.Examples, prettyJSON(string(ex)))
	}
	c.render(w, r, http.StatusOK, "eventtype", view{Title: p.Type.Name, Nav: "event-types", Data: p})
}

// catalogFor reads the event types a webhook of tenant may subscribe to,
// for the webhook form: the tenant's view of the catalog (the admin's
// default tenant when it names none), at most one page of 1,000. A catalog
// that cannot be read leaves the form without it, and says so in the log.
func (c *Console) catalogFor(r *http.Request, tenant string) []apiEventType {
	s := sessionOf(r)
	q := url.Values{"limit": {"1000"}}
	if s.IsAdmin() && tenant != "" {
		q.Set("tenantId", tenant)
	} else if s.IsAdmin() {
		q.Set("tenantId", "default")
	}
	var list apiEventTypeList
	if err := c.call(r, s, http.MethodGet, "/api/v1/event-types?"+q.Encode(), nil, &list); err != nil {
		c.log.WarnContext(r.Context(), "console: read the event catalog", "error", err)
		return nil
	}
	var out []apiEventType
	for _, t := range list.Data {
		// What a test or a batch is sent as is not something to subscribe to.
		if t.BuiltIn && (t.Name == "webhookd.test" || t.Name == "webhookd.batch") {
			continue
		}
		out = append(out, t)
	}
	return out
}

// exampleOf reads the first example of the event type called name, as the
// tenant sees it.
func (c *Console) exampleOf(r *http.Request, tenant, name string) (json.RawMessage, error) {
	s := sessionOf(r)
	path := "/api/v1/event-types/name/" + url.PathEscape(name)
	if s.IsAdmin() && tenant != "" {
		path += "?" + url.Values{"tenantId": {tenant}}.Encode()
	}
	var t apiEventType
	if err := c.call(r, s, http.MethodGet, path, nil, &t); err != nil {
		return nil, err
	}
	return t.FirstExample(), nil
}
