package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"
)

const pageSize = 25

// webhookRow is one line of the webhooks page.
type webhookRow struct {
	apiWebhook
	Last  *apiDelivery
	Stats apiStats
	// Problem is why the row's stats could not be read (the webhook was
	// deleted meanwhile, say); the rest of the page still shows.
	Problem string
}

type webhooksPage struct {
	Rows     []webhookRow
	Total    int64
	Status   string
	Tenant   string
	Statuses []string
	Next     string
}

var webhookStatusFilters = []string{"active", "awaitingRetry", "retryLimitReached", "autoPaused", "disabled", "failed", "paused"}

// webhooks lists webhooks with their health: status, last delivery and the
// success rate of the last 24 hours (two small API reads per row, run in
// parallel; both are served by indexes whatever the delivery count).
func (c *Console) webhooks(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	page := webhooksPage{Status: r.URL.Query().Get("status"), Statuses: webhookStatusFilters}
	switch page.Status {
	case "":
	case "paused":
		q.Set("paused", "true")
	default:
		q.Set("status", page.Status)
	}
	if s.IsAdmin() {
		page.Tenant = r.URL.Query().Get("tenantId")
		if page.Tenant != "" {
			q.Set("tenantId", page.Tenant)
		}
	}
	if after := r.URL.Query().Get("after"); after != "" {
		q.Set("after", after)
	}
	var list apiWebhookList
	if err := c.call(r, s, http.MethodGet, "/api/v1/webhooks?"+q.Encode(), nil, &list); err != nil {
		c.fail(w, r, err)
		return
	}
	page.Rows = make([]webhookRow, len(list.Data))
	g, _ := errgroup.WithContext(r.Context())
	g.SetLimit(8)
	for i, wh := range list.Data {
		page.Rows[i].apiWebhook = wh
		row := &page.Rows[i]
		g.Go(func() error {
			if err := c.call(r, s, http.MethodGet, "/api/v1/webhooks/"+wh.ID+"/stats?window=24h", nil, &row.Stats); err != nil {
				row.Problem = "stats unavailable"
				c.log.WarnContext(r.Context(), "console: webhook stats", "webhook", wh.ID, "error", err)
			}
			return nil
		})
		g.Go(func() error {
			var last apiDeliveryList
			if err := c.call(r, s, http.MethodGet, "/api/v1/webhooks/"+wh.ID+"/deliveries?limit=1", nil, &last); err != nil {
				c.log.WarnContext(r.Context(), "console: last delivery", "webhook", wh.ID, "error", err)
				return nil
			}
			if len(last.Data) > 0 {
				row.Last = &last.Data[0]
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		c.fail(w, r, err)
		return
	}
	if list.Paging.Total != nil {
		page.Total = *list.Paging.Total
	}
	if list.Paging.After != "" {
		next := r.URL.Query()
		next.Set("after", list.Paging.After)
		page.Next = "/console/webhooks?" + next.Encode()
	}
	c.render(w, r, http.StatusOK, "webhooks", view{Title: "Webhooks", Nav: "webhooks", Flash: flash(r), Data: page})
}

// editPage is the webhook page: its form, its actions and its health.
type editPage struct {
	Webhook *apiWebhook // nil on the new-webhook page
	Form    *webhookForm
	Stats   apiStats
	// Secret is a new secret, shown once (after a create or a rotation).
	Secret string
	Test   *testResult
}

func (c *Console) newWebhook(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "webhook", view{Title: "New webhook", Nav: "webhooks", Data: c.withCatalog(r, editPage{Form: newForm()}, "")})
}

func (c *Console) createWebhook(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	f := formOf(r)
	if !s.IsAdmin() {
		f.TenantID = ""
	}
	generated := ""
	if f.SecretKey == "" {
		generated = newSecret()
		f.SecretKey = generated
	}
	doc := f.apply(nil)
	if f.failed() {
		f.SecretKey = ""
		c.render(w, r, http.StatusUnprocessableEntity, "webhook", view{Title: "New webhook", Nav: "webhooks", Data: c.withCatalog(r, editPage{Form: f}, f.TenantID)})
		return
	}
	var created apiWebhook
	if err := c.call(r, s, http.MethodPost, "/api/v1/webhooks", doc, &created); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusUnauthorized {
			c.fail(w, r, err)
			return
		}
		f.apiErrorOn(e)
		if generated != "" {
			f.SecretKey = ""
		}
		c.render(w, r, e.Status, "webhook", view{Title: "New webhook", Nav: "webhooks", Data: c.withCatalog(r, editPage{Form: f}, f.TenantID)})
		return
	}
	// The secret is shown on this answer only: reads mask it.
	c.render(w, r, http.StatusCreated, "webhook", view{Title: created.Name, Nav: "webhooks", Flash: "Webhook created.",
		Data: c.withCatalog(r, editPage{Webhook: &created, Form: formFromWebhook(created), Secret: f.SecretKey}, created.TenantID)})
}

// loadWebhook reads the webhook of the path.
func (c *Console) loadWebhook(r *http.Request) (apiWebhook, map[string]any, error) {
	var wh apiWebhook
	var doc map[string]any
	var raw json.RawMessage
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/webhooks/"+url.PathEscape(r.PathValue("id")), nil, &raw); err != nil {
		return wh, nil, err
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return wh, nil, err
	}
	err := json.Unmarshal(raw, &wh)
	return wh, doc, err
}

func (c *Console) editWebhook(w http.ResponseWriter, r *http.Request) {
	wh, _, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.showWebhook(w, r, http.StatusOK, wh, formFromWebhook(wh), editPage{}, flash(r))
}

// showWebhook renders the webhook page with its 24-hour stats.
func (c *Console) showWebhook(w http.ResponseWriter, r *http.Request, status int, wh apiWebhook, f *webhookForm, p editPage, flashMsg string) {
	p.Webhook, p.Form = &wh, f
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/webhooks/"+wh.ID+"/stats?window=24h", nil, &p.Stats); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, "webhook", view{Title: wh.Name, Nav: "webhooks", Flash: flashMsg, Data: c.withCatalog(r, p, wh.TenantID)})
}

func (c *Console) updateWebhook(w http.ResponseWriter, r *http.Request) {
	wh, doc, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f := formOf(r)
	f.ID, f.TenantID = wh.ID, wh.TenantID
	body := f.apply(doc)
	if f.failed() {
		c.showWebhook(w, r, http.StatusUnprocessableEntity, wh, f, editPage{}, "")
		return
	}
	var saved apiWebhook
	if err := c.call(r, sessionOf(r), http.MethodPut, "/api/v1/webhooks/"+wh.ID, body, &saved); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusUnauthorized || e.Status == http.StatusNotFound {
			c.fail(w, r, err)
			return
		}
		if path, _ := e.field(); e.Status == http.StatusConflict && path == "version" {
			c.editConflict(w, r, f)
			return
		}
		f.apiErrorOn(e)
		c.showWebhook(w, r, e.Status, wh, f, editPage{}, "")
		return
	}
	c.redirect(w, r, "/console/webhooks/"+wh.ID+"?flash=saved")
}

// editConflict answers a save refused because someone saved the webhook
// after this form was opened: the page says who and when, keeps what was
// typed, and takes the current version, so that saving again replaces the
// other change knowingly (or reloading starts from it).
func (c *Console) editConflict(w http.ResponseWriter, r *http.Request, f *webhookForm) {
	current, _, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	f.Conflict = &conflict{Yours: f.Version, Theirs: formatVersion(current.Version), By: current.UpdatedBy,
		At: time.UnixMilli(current.UpdatedAt).UTC()}
	f.Version = f.Conflict.Theirs
	c.showWebhook(w, r, http.StatusConflict, current, f, editPage{}, "")
}

func (c *Console) pauseWebhook(w http.ResponseWriter, r *http.Request) {
	c.webhookAction(w, r, "pause", "paused")
}

func (c *Console) resumeWebhook(w http.ResponseWriter, r *http.Request) {
	c.webhookAction(w, r, "resume", "resumed")
}

func (c *Console) webhookAction(w http.ResponseWriter, r *http.Request, action, done string) {
	id := url.PathEscape(r.PathValue("id"))
	var out struct {
		Released *int64 `json:"released"`
	}
	if err := c.call(r, sessionOf(r), http.MethodPost, "/api/v1/webhooks/"+id+"/"+action, nil, &out); err != nil {
		c.fail(w, r, err)
		return
	}
	target := "/console/webhooks/" + id + "?flash=" + done
	if out.Released != nil {
		target += "&n=" + strconv.FormatInt(*out.Released, 10)
	}
	c.redirect(w, r, target)
}

var graces = map[string]int{"0": 0, "3600": 3600, "86400": 86400, "604800": 604800}

// keyTypes are the keys a rotation may generate; anything else is hmac.
var keyTypes = map[string]string{"hmac": "hmac", "ed25519": "ed25519"}

// rotateSecret replaces the signing secret; the new one is shown once.
func (c *Console) rotateSecret(w http.ResponseWriter, r *http.Request) {
	grace, ok := graces[r.PostFormValue("graceSeconds")]
	if !ok {
		grace = 86400
	}
	id := url.PathEscape(r.PathValue("id"))
	var out apiRotateAnswer
	if err := c.call(r, sessionOf(r), http.MethodPost, "/api/v1/webhooks/"+id+"/rotate-secret",
		map[string]any{"graceSeconds": grace, "keyType": keyTypes[r.PostFormValue("keyType")]}, &out); err != nil {
		c.fail(w, r, err)
		return
	}
	wh, _, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	msg := "Secret rotated. The old secret stops signing requests at " + when(out.PreviousSecretExpiresAt) + "."
	if out.PreviousSecretExpiresAt == "" {
		msg = "Secret rotated. Requests are signed with the new secret only."
	}
	if out.PublicKey != "" {
		// The signing key is never shown: receivers verify with the public key.
		msg += " Receivers verify v1a signatures with the public key " + out.PublicKey + "."
	}
	w.Header().Set("Cache-Control", "no-store")
	c.showWebhook(w, r, http.StatusOK, wh, formFromWebhook(wh), editPage{Secret: out.SecretKey}, msg)
}

func (c *Console) confirmDelete(w http.ResponseWriter, r *http.Request) {
	wh, _, err := c.loadWebhook(r)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "delete", view{Title: "Delete " + wh.Name, Nav: "webhooks", Data: wh})
}

func (c *Console) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	path := "/api/v1/webhooks/" + url.PathEscape(r.PathValue("id"))
	if r.PostFormValue("hardDelete") == "on" {
		path += "?hardDelete=true"
	}
	if err := c.call(r, sessionOf(r), http.MethodDelete, path, nil, nil); err != nil {
		c.fail(w, r, err)
		return
	}
	c.redirect(w, r, "/console/webhooks?flash=deleted")
}

// withCatalog offers tenant's event types on p's form.
func (c *Console) withCatalog(r *http.Request, p editPage, tenant string) editPage {
	p.Form.useCatalog(c.catalogFor(r, tenant))
	return p
}

// flash is the message a redirect asked for (fixed texts: nothing a link
// could inject).
func flash(r *http.Request) string {
	switch r.URL.Query().Get("flash") {
	case "saved":
		return "Saved."
	case "paused":
		return "Paused: new events are kept as held deliveries until you resume."
	case "resumed":
		n := r.URL.Query().Get("n")
		if _, err := strconv.Atoi(n); err != nil {
			n = "0"
		}
		return "Resumed: " + n + " held deliveries are on their way, oldest first."
	case "deleted":
		return "Webhook deleted."
	case "resent":
		return "Resent: a new attempt is on its way."
	}
	return ""
}
