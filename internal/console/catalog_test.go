package console

import (
	"time"

	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/webhookd/webhookd/internal/secrets"
)

const (
	invoiceType = `{"id":"t1","tenantId":"acme","global":false,"builtIn":false,"name":"invoice.paid","description":"An invoice was paid.",` +
		`"schema":{"type":"object","required":["amount"],"properties":{"amount":{"type":"number"}}},` +
		`"examples":[{"invoiceId":"in_1","amount":120.5}],"deprecated":false,"validate":true,"version":3,` +
		`"createdAt":"2026-12-01T10:00:00.000Z","updatedAt":"2026-12-01T10:00:00.000Z","updatedBy":"api","deleted":false}`
	legacyType = `{"id":"t2","tenantId":"*","global":true,"builtIn":false,"name":"legacy.ping","deprecated":true,"validate":false,"version":1}`
	testType   = `{"id":"webhookd.test","tenantId":"*","global":true,"builtIn":true,"name":"webhookd.test","deprecated":false,"validate":false,"version":1,` +
		`"examples":[{"message":"hi"}]}`
	failingType = `{"id":"webhookd.webhook.failing","tenantId":"*","global":true,"builtIn":true,"name":"webhookd.webhook.failing","deprecated":false,"validate":false,"version":1}`
)

// catalogAPI is an open API with a catalog of four types and one webhook
// of tenant acme, subscribed to one of them and to a pattern, with a
// content filter that matched nothing in the last day. It records the
// bodies posted to it and the queries of catalog reads.
type catalogAPI struct {
	mu      sync.Mutex
	posts   map[string][]string
	queries []string
}

func (a *catalogAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		b, _ := io.ReadAll(r.Body)
		a.posts[r.URL.Path] = append(a.posts[r.URL.Path], string(b))
	}
	switch path := r.URL.Path; {
	case path == "/api/v1/whoami":
		io.WriteString(w, `{"role":"admin","readOnly":false}`)
	case path == "/api/v1/event-types":
		a.queries = append(a.queries, r.URL.RawQuery)
		io.WriteString(w, `{"data":[`+invoiceType+`,`+legacyType+`,`+testType+`,`+failingType+`],"paging":{"total":4}}`)
	case path == "/api/v1/event-types/t1", path == "/api/v1/event-types/name/invoice.paid":
		io.WriteString(w, invoiceType)
	case path == "/api/v1/webhooks/w1" && r.Method == http.MethodGet:
		io.WriteString(w, `{"id":"w1","tenantId":"acme","name":"big-invoices","webhookType":"Generic","webhookConfig":{"endpoint":"https://e.x"},`+
			`"eventFilters":[{"eventType":"invoice.paid","filter":"data.amount > 100"},{"eventType":"order.*","filter":"data.amount > 100"}]}`)
	case path == "/api/v1/webhooks/w1/stats":
		io.WriteString(w, `{"webhookId":"w1","attempts":0,"successes":0,"failures":0,"eventFilters":[`+
			`{"eventType":"invoice.paid","filter":"data.amount > 100","seen":12,"matched":0},`+
			`{"eventType":"order.*","filter":"data.amount > 100","seen":3,"matched":3}]}`)
	case path == "/api/v1/webhooks/w1/test":
		io.WriteString(w, `{"delivery":{"id":"d1","status":"succeeded"},"attempt":{"number":1,"durationMs":3,"response":{"statusCode":200,"body":"ok"}}}`)
	case path == "/api/v1/webhooks" && r.Method == http.MethodPost:
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"code":"invalid_field","message":"eventFilters[0].filter: line 1, column 14: Syntax error: mismatched input '<EOF>'"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":"not_found","message":"no such thing"}`)
	}
}

func newCatalogConsole(t *testing.T) (*catalogAPI, *httptest.Server, *http.Client) {
	t.Helper()
	keys, err := secrets.ParseKeyring("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	a := &catalogAPI{posts: map[string][]string{}}
	c, err := New(Deps{Logger: slog.New(slog.DiscardHandler), API: a, Sealer: keys,
		Revocations: &revocations{revoked: map[string]time.Time{}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return a, srv, (&fixture{srv: srv}).browser(t)
}

func (a *catalogAPI) posted(path string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.posts[path]
}

// csrfOf reads the CSRF token of a page the browser was given.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%.2000s", page)
	}
	return m[1]
}

// TestEventTypePages: the catalog with each type's markers, and a type with
// its schema and example; the menu leads there.
func TestEventTypePages(t *testing.T) {
	_, srv, c := newCatalogConsole(t)
	list := get(t, c, srv.URL+"/console/event-types")
	for _, want := range []string{
		`<a href="/console/event-types" aria-current="page">Event types</a>`,
		`<a class="mono" href="/console/event-types/t1">invoice.paid</a>`,
		`<span class="badge badge-strict">strict</span>`,
		`<span class="badge badge-deprecated">deprecated</span>`,
		`<span class="badge badge-builtin">built-in</span>`,
		`<span class="badge badge-global">global</span>`,
		`href="/api/v1/event-types/openapi.json"`,
	} {
		if !strings.Contains(list, want) {
			t.Errorf("the catalog lacks %s:\n%.4000s", want, list)
		}
	}
	page := get(t, c, srv.URL+"/console/event-types/t1")
	for _, want := range []string{
		"&#34;required&#34;: [\n    &#34;amount&#34;\n  ]", // the schema, pretty-printed
		"&#34;invoiceId&#34;: &#34;in_1&#34;",              // the example
		"an event whose data does not match the schema is refused",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the type's page lacks %q:\n%.4000s", want, page)
		}
	}
}

// TestWebhookFormOffersTheCatalog: the form ticks the catalog's types the
// webhook takes (of its tenant's catalog) and leaves the rest in the box,
// shows its content filter, and the health says which filter matched
// nothing recently.
func TestWebhookFormOffersTheCatalog(t *testing.T) {
	a, srv, c := newCatalogConsole(t)
	page := get(t, c, srv.URL+"/console/webhooks/w1")
	for _, want := range []string{
		`name="catalogType" type="checkbox" value="invoice.paid" checked>`,
		`name="catalogType" type="checkbox" value="legacy.ping">`,
		`value="webhookd.webhook.failing">`,
		">order.*</textarea>",
		">data.amount &gt; 100</textarea>",
		`<option value="invoice.paid">invoice.paid</option>`, // an example to send
		`<datalist id="catalog-names">`,
		"matched nothing recently",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the webhook page lacks %s:\n%.6000s", want, page)
		}
	}
	if strings.Contains(page, `value="webhookd.test"`) && strings.Contains(page, `name="catalogType" type="checkbox" value="webhookd.test"`) {
		t.Error("the test type is offered as a subscription")
	}
	if strings.Count(page, "matched nothing recently") != 1 {
		t.Error("a filter that matched is flagged")
	}
	if len(a.queries) == 0 || a.queries[len(a.queries)-1] != "limit=1000&tenantId=acme" {
		t.Errorf("catalog read with %v; want the webhook's tenant's", a.queries)
	}
}

// TestContentFilterErrorInline: the content filter goes into every filter
// (ticked types and typed ones), and the compiler's refusal shows under it.
func TestContentFilterErrorInline(t *testing.T) {
	a, srv, c := newCatalogConsole(t)
	csrf := csrfOf(t, get(t, c, srv.URL+"/console/webhooks/new"))
	form := url.Values{"csrf": {csrf}, "name": {"n"}, "webhookType": {"Generic"}, "endpoint": {"https://e.x"},
		"catalogType": {"invoice.paid"}, "eventTypes": {"order.*"}, "filter": {"data.amount >"}, "enabled": {"on"}}
	resp, page := do(t, c, "POST", srv.URL+"/console/webhooks", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	if !strings.Contains(page, `<p id="filter-error" class="field-error">line 1, column 14: Syntax error: mismatched input &#39;&lt;EOF&gt;&#39;</p>`) ||
		!strings.Contains(page, `aria-describedby="filter-help filter-error" aria-invalid="true"`) {
		t.Errorf("the compiler's message is not under the filter:\n%.6000s", page)
	}
	var sent struct {
		EventFilters []map[string]any `json:"eventFilters"`
	}
	if posts := a.posted("/api/v1/webhooks"); len(posts) != 1 || json.Unmarshal([]byte(posts[0]), &sent) != nil {
		t.Fatalf("posted %v", posts)
	}
	got, _ := json.Marshal(sent.EventFilters)
	if want := `[{"eventType":"order.*","filter":"data.amount \u003e"},{"eventType":"invoice.paid","filter":"data.amount \u003e"}]`; string(got) != want {
		t.Errorf("eventFilters %s, want %s", got, want)
	}
	// The ticked type stays ticked on the answer.
	if !strings.Contains(page, `value="invoice.paid" checked>`) {
		t.Error("the ticked type is lost")
	}
}

// TestTestButtonSendsAnExample: choosing a type sends its first example as
// the test event.
func TestTestButtonSendsAnExample(t *testing.T) {
	a, srv, c := newCatalogConsole(t)
	csrf := csrfOf(t, get(t, c, srv.URL+"/console/webhooks/w1"))
	resp, page := do(t, c, "POST", srv.URL+"/console/webhooks/w1/test", url.Values{"csrf": {csrf}, "exampleType": {"invoice.paid"}},
		"HX-Request", "true")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Delivered") {
		t.Fatalf("test: %d\n%s", resp.StatusCode, page)
	}
	posts := a.posted("/api/v1/webhooks/w1/test")
	if len(posts) != 1 || posts[0] != `{"data":{"invoiceId":"in_1","amount":120.5},"eventType":"invoice.paid"}` {
		t.Fatalf("the test sent %v", posts)
	}
}
