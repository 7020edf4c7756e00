package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is an API answer of 400 or more: the API's {code, message},
// and each field's problem when a validation found several.
type apiError struct {
	Status  int
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldIssue `json:"errors"`
}

// fieldIssue is one field's problem in an answer that names several.
type fieldIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// field is the JSON path a validation message starts with
// ("webhookConfig.endpoint: must be ..." → "webhookConfig.endpoint"), or "".
func (e *apiError) field() (path, msg string) {
	p, m, ok := strings.Cut(e.Message, ": ")
	if !ok || strings.ContainsAny(p, " \"") {
		return "", e.Message
	}
	return p, m
}

// call sends one request to the API as the session's caller and decodes a
// 2xx answer into out (when not nil). An answer of 400 or more is returned
// as *apiError. The request never leaves the process.
func (c *Console) call(r *http.Request, s *session, method, path string, in, out any) error {
	// A server handler expects a body, even an empty one.
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return err
	}
	// The API answers only the Host names it serves (ALLOWED_HOSTS): the
	// console's own request has passed that check already.
	req.RemoteAddr, req.Host = r.RemoteAddr, r.Host
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s != nil && s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	// Changes made in the console show as made by the console.
	req.Header.Set("X-Webhookd-User", "console")
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	c.api.ServeHTTP(rec, req)
	if rec.status >= 400 {
		e := &apiError{Status: rec.status}
		if json.Unmarshal(rec.body.Bytes(), e) != nil || e.Message == "" {
			e.Code, e.Message = "error", http.StatusText(rec.status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("console: decode %s %s: %w", method, path, err)
	}
	return nil
}

// recorder is the ResponseWriter of an in-process API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
