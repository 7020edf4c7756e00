package console

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// testResult is what a Test button shows.
type testResult struct {
	OK         bool
	StatusCode int
	DurationMs int64
	Body       string
	Error      string
	// Problems are validation messages of an unsaved webhook.
	Problems []string
}

func resultOf(a apiTestAnswer) *testResult {
	t := &testResult{OK: a.Delivery.Status == "succeeded"}
	if at := a.Attempt; at != nil {
		t.DurationMs, t.Error = at.DurationMs, at.Error
		if at.Response != nil {
			t.StatusCode, t.Body = at.Response.StatusCode, short(2000, at.Response.Body)
		}
	}
	return t
}

// testWebhook sends a test event to a saved webhook (its default message,
// or the sample of the form) and shows the receiver's answer.
func (c *Console) testWebhook(w http.ResponseWriter, r *http.Request) {
	f := formOf(r)
	if f.ExampleType != "" {
		wh, _, err := c.loadWebhook(r) // the example is of the webhook's tenant's type
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.useExample(r, f, wh.TenantID)
	}
	var body any
	if s := f.sample(); s != nil {
		body = s
	}
	id := url.PathEscape(r.PathValue("id"))
	var ans apiTestAnswer
	res := &testResult{}
	if f.failed() {
		for _, k := range slices.Sorted(maps.Keys(f.Errors)) {
			res.Problems = append(res.Problems, f.Errors[k])
		}
	} else if err := c.call(r, sessionOf(r), http.MethodPost, "/api/v1/webhooks/"+id+"/test", body, &ans); err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusUnauthorized || e.Status == http.StatusNotFound {
			c.fail(w, r, err)
			return
		}
		res.Problems = []string{e.Message}
	} else {
		res = resultOf(ans)
	}
	c.showTest(w, r, res, func() {
		wh, _, err := c.loadWebhook(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		c.showWebhook(w, r, http.StatusOK, wh, formFromWebhook(wh), editPage{Test: res}, "")
	})
}

// testUnsaved sends a test event to the webhook of the form without saving
// it (test before save).
func (c *Console) testUnsaved(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	f := formOf(r)
	if !s.IsAdmin() {
		f.TenantID = ""
	}
	doc := f.apply(nil)
	c.useExample(r, f, f.TenantID)
	if sample := f.sample(); sample != nil {
		doc["testEvent"] = sample
	}
	res := &testResult{}
	var ans apiTestAnswer
	if !f.failed() {
		if err := c.call(r, s, http.MethodPost, "/api/v1/webhooks/test", doc, &ans); err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.Status >= 500 || e.Status == http.StatusUnauthorized {
				c.fail(w, r, err)
				return
			}
			f.apiErrorOn(e)
		} else {
			res = resultOf(ans)
		}
	}
	if f.failed() {
		for _, k := range slices.Sorted(maps.Keys(f.Errors)) {
			res.Problems = append(res.Problems, f.Errors[k])
		}
		if f.FormError != "" {
			res.Problems = append(res.Problems, f.FormError)
		}
	}
	c.showTest(w, r, res, func() {
		f.SecretKey = ""
		status := http.StatusOK
		if f.failed() {
			status = http.StatusUnprocessableEntity
		}
		c.render(w, r, status, "webhook", view{Title: "New webhook", Nav: "webhooks", Data: c.withCatalog(r, editPage{Form: f, Test: res}, f.TenantID)})
	})
}

// useExample makes the form's sample the first example of the catalog type
// it names (exampleType), as tenant sees the type.
func (c *Console) useExample(r *http.Request, f *webhookForm, tenant string) {
	if f.ExampleType == "" {
		return
	}
	example, err := c.exampleOf(r, tenant, f.ExampleType)
	switch {
	case err != nil:
		f.Errors["exampleType"] = f.ExampleType + ": " + err.Error()
		var e *apiError
		if errors.As(err, &e) {
			f.Errors["exampleType"] = e.Message
		}
	case example == nil:
		f.Errors["exampleType"] = f.ExampleType + " has no example"
	default:
		f.SampleType, f.SampleData = f.ExampleType, string(example)
	}
}

// showTest answers htmx with the result alone, and a browser without
// JavaScript with the whole page (page).
func (c *Console) showTest(w http.ResponseWriter, r *http.Request, res *testResult, page func()) {
	if r.Header.Get("HX-Request") == "true" {
		// 200 even for problems: htmx swaps only successful answers.
		c.renderFragment(w, r, http.StatusOK, "webhook", "test-result", view{Data: editPage{Test: res}})
		return
	}
	page()
}

// newSecret makes a Standard Webhooks secret for a new webhook.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}
