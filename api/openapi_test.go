package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/webhookd/webhookd/internal/store"
)

// The OpenAPI document (openapi.json) cannot drift from the code: newAPI
// wraps every test server's handler in conform, so every request any api
// test makes is checked against it, and TestOpenAPIDocumentsEveryRoute
// compares its paths with the router's.

type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil { // examples included
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	// Ids are UUID-shaped; the fixtures' are not all RFC 9562 UUIDs.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(
		`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
	doc.Servers = nil // match paths on any host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: router}, nil
})

func mustContract(t *testing.T) *contract {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// conform serves h and reports to the current test (t()) every exchange
// that the document does not describe: an undocumented operation, query
// parameter or status, a response body (or a field of it) not matching its
// schema, or a request the server accepted (2xx) that the document would
// refuse. The report is made before the response completes, so while the
// test that made the request is still waiting for it.
func conform(t func() *testing.T, c *contract, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t().Errorf("OpenAPI: %s %s: reading the request body: %v", r.Method, r.URL, err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if problems := c.check(r, body, rec.status, w.Header(), rec.body.Bytes()); len(problems) > 0 {
			t().Errorf("OpenAPI: %s %s → %d does not match openapi.json:\n\t%s\nresponse: %.2000s",
				r.Method, r.URL, rec.status, strings.Join(problems, "\n\t"), rec.body.Bytes())
		}
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (c *contract) check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) []string {
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		// The router's own answer to a path or method it does not serve.
		var e struct{ Code, Message string }
		_ = json.Unmarshal(body, &e)
		if (status == 404 && strings.HasPrefix(e.Message, "no route ")) || status == 405 {
			return nil
		}
		return []string{"no documented operation: " + err.Error()}
	}
	ctx := context.Background()
	// A read document may be sent back as is: its readOnly fields are
	// accepted and ignored.
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true,
		IncludeResponseStatus: true, SkipSettingDefaults: true, ExcludeReadOnlyValidations: true,
		RejectWhenRequestBodyNotSpecified: true}
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	var problems []string
	for name := range r.URL.Query() { // kin-openapi ignores unknown ones
		if route.Operation.Parameters.GetByInAndName("query", name) == nil &&
			route.PathItem.Parameters.GetByInAndName("query", name) == nil {
			problems = append(problems, "request: undocumented query parameter "+name)
		}
	}
	if status < 300 {
		// Refused requests are often malformed on purpose; accepted ones
		// must be what the document describes.
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			problems = append(problems, "request: "+err.Error())
		}
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	isJSON := mt == "application/json"
	if !isJSON {
		opts.ExcludeResponseBody = true // /metrics: Prometheus text by design
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		problems = append(problems, "response: "+err.Error())
	} else if isJSON {
		problems = append(problems, undocumentedFields(route.Operation, status, body)...)
	}
	return problems
}

// undocumentedFields lists the response's fields that its schema does not
// declare. The document leaves objects open (clients keep working when a
// field is added), so kin-openapi would accept them; the tests do not.
func undocumentedFields(op *openapi3.Operation, status int, body []byte) []string {
	resp := op.Responses.Status(status)
	if resp == nil || resp.Value.Content.Get("application/json") == nil {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{"response: " + err.Error()}
	}
	var out []string
	var walk func(s *openapi3.Schema, v any, at string)
	walk = func(s *openapi3.Schema, v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			props, open := declared(s)
			for k, x := range v {
				if p, ok := props[k]; ok {
					walk(p, x, at+"."+k)
				} else if !open {
					out = append(out, "response: undocumented field "+at+"."+k)
				}
			}
		case []any:
			if s.Items != nil {
				for i, x := range v {
					walk(s.Items.Value, x, fmt.Sprintf("%s[%d]", at, i))
				}
			}
		}
	}
	walk(resp.Value.Content.Get("application/json").Schema.Value, v, "$")
	sort.Strings(out)
	return out
}

// declared gathers the properties s declares, through allOf, anyOf and
// oneOf; open is true when s allows others, or declares none (free-form).
func declared(s *openapi3.Schema) (props map[string]*openapi3.Schema, open bool) {
	props = map[string]*openapi3.Schema{}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		for k, p := range s.Properties {
			props[k] = p.Value
		}
		if ap := s.AdditionalProperties; ap.Schema != nil || (ap.Has != nil && *ap.Has) {
			open = true
		}
		for _, refs := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, ref := range refs {
				add(ref.Value)
			}
		}
	}
	add(s)
	return props, open || len(props) == 0
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	c := mustContract(t)
	a := newAPI(t, store.Postgres, withToken("a-token-the-document-does-not-need"))
	a.token = ""
	r := a.do("GET", "/api/v1/openapi.json", nil)
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || !bytes.Equal(r.Body, want) {
		t.Fatalf("GET /api/v1/openapi.json without credentials = %d %q, %d bytes; want 200 application/json, openapi.json",
			r.Status, r.Header.Get("Content-Type"), len(r.Body))
	}
	if c.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", c.doc.OpenAPI)
	}
	// What a client generator needs: an operationId and a tag on every
	// operation, an example for every request body.
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || len(op.Tags) == 0 {
				t.Errorf("%s %s: needs an operationId and a tag", method, path)
			}
			if rb := op.RequestBody; rb != nil {
				for mt, m := range rb.Value.Content {
					if m.Example == nil && len(m.Examples) == 0 {
						t.Errorf("%s %s: the %s request body has no example", method, path, mt)
					}
				}
			}
		}
	}
}

// TestOpenAPIDocumentsEveryRoute: every route the router serves is in the
// document, and every documented operation is served. A new route fails
// here until openapi.json describes it.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	c := mustContract(t)
	a := newAPI(t, store.Postgres)
	served := map[string]bool{}
	for _, r := range routesOf(t, a) {
		method, path, _ := strings.Cut(r, " ")
		parts := strings.Split(path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		served[method+" "+strings.Join(parts, "/")] = true
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("route %s is not in api/openapi.json: document it (operation, parameters, request and response schemas, examples)", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("api/openapi.json documents %s, which the router does not serve", r)
		}
	}
}
