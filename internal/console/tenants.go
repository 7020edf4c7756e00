package console

import (
	"net/http"
	"net/url"
	"strconv"
)

type tenantsPage struct {
	Rows []apiTenant
	Next string
	// Link is a portal link just made, shown once.
	Link       string
	LinkTenant string
	LinkExpiry string
}

// tenants lists tenants for the admin, each with a way to make a link that
// opens the console as that tenant (a product's customer portal).
func (c *Console) tenants(w http.ResponseWriter, r *http.Request) {
	c.showTenants(w, r, tenantsPage{})
}

func (c *Console) showTenants(w http.ResponseWriter, r *http.Request, p tenantsPage) {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if after := r.URL.Query().Get("after"); after != "" {
		q.Set("after", after)
	}
	var list apiTenantList
	if err := c.call(r, sessionOf(r), http.MethodGet, "/api/v1/tenants?"+q.Encode(), nil, &list); err != nil {
		c.fail(w, r, err)
		return
	}
	p.Rows = list.Data
	if list.Paging.After != "" {
		p.Next = "/console/tenants?after=" + url.QueryEscape(list.Paging.After)
	}
	c.render(w, r, http.StatusOK, "tenants", view{Title: "Tenants", Nav: "tenants", Data: p})
}

// tenantLink mints a one-hour tenant token and shows the sign-in link that
// carries it. The link is a credential: it is shown here once, never
// logged, and the console removes it from the address bar on use.
func (c *Console) tenantLink(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("id")
	readOnly := r.PostFormValue("readOnly") == "on"
	var minted apiMinted
	if err := c.call(r, sessionOf(r), http.MethodPost, "/api/v1/tenants/"+url.PathEscape(tenant)+"/tokens",
		map[string]any{"ttlSeconds": 3600, "readOnly": readOnly}, &minted); err != nil {
		c.fail(w, r, err)
		return
	}
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	host := r.Host
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		host = fh
	}
	w.Header().Set("Cache-Control", "no-store")
	c.showTenants(w, r, tenantsPage{Link: scheme + "://" + host + "/console/?token=" + url.QueryEscape(minted.Token),
		LinkTenant: tenant, LinkExpiry: minted.ExpiresAt})
}
