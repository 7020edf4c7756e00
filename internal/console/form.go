package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// webhookForm is the create and edit form: OpenMetadata's webhook fields
// as a person types them. Event filters are event types ticked in the
// catalog or typed one per line (with optional entity types and content
// filter for all of them), or, for include/exclude rules, the eventFilters
// JSON itself.
type webhookForm struct {
	ID          string
	TenantID    string
	Name        string
	Description string
	WebhookType string
	Endpoint    string
	EventTypes  string
	// CatalogTypes are the catalog's types ticked; EventTypes holds the
	// rest (patterns, types not in the catalog).
	CatalogTypes []string
	Entities     string
	// Filter is the content filter (CEL) of every filter.
	Filter          string
	FiltersJSON     string
	Headers         string
	SecretKey       string
	Timeout         string
	Enabled         bool
	PayloadFormat   string
	RetrySchedule   string
	MaxConcurrency  string
	RateLimit       string
	PayloadTemplate string
	SampleType      string
	SampleData      string
	// ExampleType names a catalog type whose first example a test sends.
	ExampleType string
	// Catalog is the event types the tenant sees, offered for the filters
	// and the test (catalogFor).
	Catalog []apiEventType
	// OpenMetadata's recipients, which only OpenMetadata itself acts on.
	SendToAdmins, SendToOwners, SendToFollowers bool
	// Version is the webhook's version the edit form was opened at; the
	// API refuses the save if someone saved another one since.
	Version string

	// Errors maps a form field to its message; FormError is the rest.
	Errors    map[string]string
	FormError string
	// Conflict is set when a save was refused because the webhook changed
	// after the form was opened.
	Conflict *conflict
}

// conflict says who changed a webhook while someone else was editing it.
type conflict struct {
	Yours, Theirs string // versions
	By            string
	At            time.Time
}

var webhookTypes = []string{"Generic", "Slack", "MSTeams", "GoogleChat", "Custom"}

// Types lists the webhook types for the select.
func (webhookForm) Types() []string { return webhookTypes }

func newForm() *webhookForm {
	return &webhookForm{WebhookType: "Generic", Enabled: true, PayloadFormat: "webhookd", EventTypes: "*", Errors: map[string]string{}}
}

// formOf reads a posted form.
func formOf(r *http.Request) *webhookForm {
	_ = r.ParseForm() // a form that does not parse reads as empty, and fails validation
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return &webhookForm{
		TenantID: v("tenantId"), Name: v("name"), Description: v("description"), WebhookType: v("webhookType"),
		Endpoint: v("endpoint"), EventTypes: r.PostFormValue("eventTypes"), CatalogTypes: r.PostForm["catalogType"],
		Entities: v("entities"), Filter: v("filter"), ExampleType: v("exampleType"),
		FiltersJSON: v("filtersJSON"), Headers: r.PostFormValue("headers"), SecretKey: v("secretKey"),
		Timeout: v("timeout"), Enabled: r.PostFormValue("enabled") == "on", PayloadFormat: v("payloadFormat"),
		RetrySchedule: v("retrySchedule"), PayloadTemplate: r.PostFormValue("payloadTemplate"),
		MaxConcurrency: v("maxConcurrency"), RateLimit: v("rateLimit"),
		SampleType: v("sampleType"), SampleData: v("sampleData"), Version: v("version"),
		SendToAdmins: r.PostFormValue("sendToAdmins") == "on", SendToOwners: r.PostFormValue("sendToOwners") == "on",
		SendToFollowers: r.PostFormValue("sendToFollowers") == "on",
		Errors:          map[string]string{},
	}
}

// formFromWebhook fills the edit form from a webhook as the API reads it
// (credential header values come masked, and go back masked: the API
// keeps the stored values).
func formFromWebhook(w apiWebhook) *webhookForm {
	f := &webhookForm{
		ID: w.ID, TenantID: w.TenantID, Name: w.Name, Description: w.Description, WebhookType: w.WebhookType,
		Endpoint: w.WebhookConfig.Endpoint, Enabled: w.IsEnabled(), PayloadFormat: w.WebhookConfig.PayloadFormat,
		RetrySchedule: strings.Join(w.WebhookConfig.RetrySchedule, ", "), PayloadTemplate: w.WebhookConfig.PayloadTemplate,
		SendToAdmins: w.WebhookConfig.SendToAdmins, SendToOwners: w.WebhookConfig.SendToOwners,
		SendToFollowers: w.WebhookConfig.SendToFollowers,
		Version:         formatVersion(w.Version), Errors: map[string]string{},
	}
	if f.PayloadFormat == "" {
		f.PayloadFormat = "webhookd"
	}
	if t := w.WebhookConfig.Timeout; t != nil {
		f.Timeout = strconv.Itoa(*t)
	}
	if n := w.WebhookConfig.MaxConcurrency; n != nil {
		f.MaxConcurrency = strconv.Itoa(*n)
	}
	if r := w.WebhookConfig.RateLimit; r != nil {
		f.RateLimit = strconv.FormatFloat(*r, 'f', -1, 64)
	}
	names := make([]string, 0, len(w.WebhookConfig.Headers))
	for k := range w.WebhookConfig.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var lines []string
	for _, k := range names {
		lines = append(lines, k+": "+w.WebhookConfig.Headers[k])
	}
	f.Headers = strings.Join(lines, "\n")
	if simple, entities := simpleFilters(w.EventFilters); simple {
		var types []string
		for _, flt := range w.EventFilters {
			types = append(types, flt.EventType)
		}
		f.EventTypes, f.Entities = strings.Join(types, "\n"), strings.Join(entities, ", ")
		if len(w.EventFilters) > 0 {
			f.Filter = w.EventFilters[0].Filter
		}
	} else {
		b, _ := json.MarshalIndent(w.EventFilters, "", "  ")
		f.FiltersJSON = string(b)
	}
	return f
}

// simpleFilters reports whether filters are event types sharing one list
// of entities and one content filter, which the simple fields can show.
func simpleFilters(fs []apiEventFilter) (bool, []string) {
	if len(fs) == 0 {
		return true, nil
	}
	for _, f := range fs {
		if len(f.Include) > 0 || len(f.Exclude) > 0 || !slices.Equal(f.Entities, fs[0].Entities) || f.Filter != fs[0].Filter {
			return false, nil
		}
	}
	return true, fs[0].Entities
}

// useCatalog offers the catalog's types on the form: a type named on a
// line of its own is shown ticked instead.
func (f *webhookForm) useCatalog(types []apiEventType) {
	f.Catalog = types
	known := map[string]bool{}
	for _, t := range types {
		known[t.Name] = true
	}
	var rest []string
	for _, line := range strings.Split(f.EventTypes, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case known[line]:
			if !slices.Contains(f.CatalogTypes, line) {
				f.CatalogTypes = append(f.CatalogTypes, line)
			}
		default:
			rest = append(rest, line)
		}
	}
	f.EventTypes = strings.Join(rest, "\n")
}

// Ticked reports whether the catalog type called name is one of the
// webhook's event types.
func (f *webhookForm) Ticked(name string) bool { return slices.Contains(f.CatalogTypes, name) }

// Examples are the catalog types a test can send an example of.
func (f *webhookForm) Examples() []apiEventType {
	var out []apiEventType
	for _, t := range f.Catalog {
		if t.FirstExample() != nil {
			out = append(out, t)
		}
	}
	return out
}

// apply writes the form into doc, a webhook document as the API reads and
// writes it (a GET's answer for an edit, empty for a create), keeping the
// fields the form does not show. Errors the API would not name well are
// caught here and recorded on the form.
func (f *webhookForm) apply(doc map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	set := func(m map[string]any, k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if f.ID == "" && f.TenantID != "" {
		doc["tenantId"] = f.TenantID
	}
	if v, err := strconv.ParseFloat(f.Version, 64); err == nil && f.ID != "" {
		// The version the form was opened at, not the one just read: a
		// save over someone else's is refused (409).
		doc["version"] = v
	}
	doc["name"] = f.Name
	set(doc, "description", f.Description)
	doc["webhookType"] = f.WebhookType
	doc["enabled"] = f.Enabled
	doc["eventFilters"] = f.filters()

	cfg, _ := doc["webhookConfig"].(map[string]any)
	if cfg == nil {
		cfg = map[string]any{}
	}
	doc["webhookConfig"] = cfg
	cfg["endpoint"] = f.Endpoint
	if f.ID == "" {
		set(cfg, "secretKey", f.SecretKey)
	}
	cfg["headers"] = f.headers()
	cfg["sendToAdmins"], cfg["sendToOwners"], cfg["sendToFollowers"] = f.SendToAdmins, f.SendToOwners, f.SendToFollowers
	if f.Timeout == "" {
		delete(cfg, "timeout")
	} else if n, err := strconv.Atoi(f.Timeout); err == nil {
		cfg["timeout"] = n
	} else {
		f.Errors["timeout"] = "a whole number of seconds"
	}
	f.limits(cfg)
	set(cfg, "payloadFormat", f.PayloadFormat)
	set(cfg, "payloadTemplate", f.PayloadTemplate)
	if f.RetrySchedule == "" {
		delete(cfg, "retrySchedule")
	} else {
		var waits []string
		for _, w := range strings.FieldsFunc(f.RetrySchedule, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			waits = append(waits, w)
		}
		cfg["retrySchedule"] = waits
	}
	return doc
}

// limits writes maxConcurrency and rateLimit (empty: the default, no
// limit); a value that is no number is caught here, its range by the API.
func (f *webhookForm) limits(cfg map[string]any) {
	delete(cfg, "maxConcurrency")
	if n, err := strconv.Atoi(f.MaxConcurrency); err == nil {
		cfg["maxConcurrency"] = n
	} else if f.MaxConcurrency != "" {
		f.Errors["maxConcurrency"] = "a whole number of requests in flight"
	}
	delete(cfg, "rateLimit")
	if r, err := strconv.ParseFloat(f.RateLimit, 64); err == nil {
		cfg["rateLimit"] = r
	} else if f.RateLimit != "" {
		f.Errors["rateLimit"] = "requests per second, such as 20 or 0.5"
	}
}

func (f *webhookForm) filters() any {
	if f.FiltersJSON != "" {
		var v []any
		if err := json.Unmarshal([]byte(f.FiltersJSON), &v); err != nil {
			f.Errors["filtersJSON"] = "not a JSON array of filters: " + err.Error()
			return []any{}
		}
		return v
	}
	var entities []string
	for _, e := range strings.Split(f.Entities, ",") {
		if e = strings.TrimSpace(e); e != "" {
			entities = append(entities, e)
		}
	}
	out := []any{}
	var types []string
	for _, line := range append(strings.Split(f.EventTypes, "\n"), f.CatalogTypes...) {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(types, line) {
			types = append(types, line)
		}
	}
	for _, t := range types {
		flt := map[string]any{"eventType": t}
		if len(entities) > 0 {
			flt["entities"] = entities
		}
		if f.Filter != "" {
			flt["filter"] = f.Filter
		}
		out = append(out, flt)
	}
	if len(out) == 0 {
		f.Errors["eventTypes"] = "name at least one event type (* for every event)"
	}
	return out
}

func (f *webhookForm) headers() map[string]string {
	out := map[string]string{}
	for i, line := range strings.Split(f.Headers, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) == "" {
			f.Errors["headers"] = fmt.Sprintf("line %d: write Name: value", i+1)
			continue
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// sample is the optional test event of the form.
func (f *webhookForm) sample() map[string]any {
	if f.SampleType == "" && f.SampleData == "" {
		return nil
	}
	s := map[string]any{}
	if f.SampleType != "" {
		s["eventType"] = f.SampleType
	}
	if f.SampleData != "" {
		var data any
		if err := json.Unmarshal([]byte(f.SampleData), &data); err != nil {
			f.Errors["sampleData"] = "not JSON: " + err.Error()
			return nil
		}
		s["data"] = json.RawMessage(f.SampleData) // as written: keys in their order
	}
	return s
}

// apiErrorOn puts an API validation error next to the field it names;
// when the API found several problems, each goes next to its own field.
func (f *webhookForm) apiErrorOn(e *apiError) {
	if len(e.Errors) == 0 {
		path, msg := e.field()
		f.fieldErrorOn(e, path, msg)
		return
	}
	for _, fi := range e.Errors {
		f.fieldErrorOn(e, fi.Field, fi.Message)
	}
}

// fieldErrorOn puts one field's problem next to the form field that holds
// it; one the form does not show goes above the form. The first problem
// of a form field is the one shown.
func (f *webhookForm) fieldErrorOn(e *apiError, path, msg string) {
	field := ""
	switch {
	case path == "name" || path == "tenantId" || path == "description" || path == "webhookType":
		field = path
	case strings.HasPrefix(path, "eventFilters") && strings.HasSuffix(path, ".filter") && f.FiltersJSON == "":
		// The compiler's message, with its line and column, under the
		// content filter the person typed (one for every event type).
		field = "filter"
	case strings.HasPrefix(path, "eventFilters"):
		field = "eventTypes"
		if f.FiltersJSON != "" {
			field = "filtersJSON"
		}
		msg = path + ": " + msg
	case strings.HasPrefix(path, "webhookConfig."):
		rest := strings.TrimPrefix(path, "webhookConfig.")
		name, _, _ := strings.Cut(rest, ".")
		name, _, _ = strings.Cut(name, "[")
		switch name {
		case "endpoint", "headers", "secretKey", "timeout", "payloadFormat", "retrySchedule", "payloadTemplate",
			"maxConcurrency", "rateLimit":
			field = name
			if rest != name {
				msg = rest + ": " + msg
			}
		}
	case strings.HasPrefix(path, "testEvent.eventType") || path == "eventType":
		field = "sampleType"
	case strings.HasPrefix(path, "testEvent") || path == "data":
		field = "sampleData"
	}
	if e.Status == http.StatusConflict && f.Errors["name"] == "" {
		field, msg = "name", e.Message
	}
	if field == "" {
		if f.FormError == "" {
			f.FormError = e.Message
			if path != "" && len(e.Errors) > 0 {
				f.FormError = path + ": " + msg
			}
		}
		return
	}
	if f.Errors[field] == "" {
		f.Errors[field] = msg
	}
}

// formatVersion writes a version as the API does (0.1, 1.2).
func formatVersion(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// failed reports whether the form has errors.
func (f *webhookForm) failed() bool { return len(f.Errors) > 0 || f.FormError != "" }
