package deliver

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/webhookd/webhookd/models"
)

// tokenError is a failure to get the webhook's OAuth2 token: the token
// endpoint refused, failed or could not be reached.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "oauth2 token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// send posts req through the webhook's client (clientFor). A webhook with OAuth2 sends its token as
// a bearer token; a 401 has the token replaced and the request sent once
// more, since a token can be revoked before it expires. It returns the
// token it sent last ("" without OAuth2), for scrubbing echoes.
func (p *Poster) send(ctx context.Context, req *http.Request, wh *models.Webhook) (*http.Response, string, error) {
	client, err := p.clientFor(wh)
	if err != nil {
		return nil, "", err
	}
	if wh.Auth == nil {
		resp, err := client.Do(req)
		return resp, "", err
	}
	token, err := p.token(ctx, wh, client, "")
	if err != nil {
		return nil, "", &tokenError{err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, token, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody))
	resp.Body.Close()
	fresh, err := p.token(ctx, wh, client, token)
	if err != nil {
		return nil, token, &tokenError{err}
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, token, fmt.Errorf("resend after 401: %w", err)
	}
	again := req.Clone(ctx)
	again.Body = body
	again.Header.Set("Authorization", "Bearer "+fresh)
	resp, err = client.Do(again)
	return resp, fresh, err
}
