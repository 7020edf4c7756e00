package deliver

import (
	"context"
	"time"
)

// Body is the body an attempt of r made at now would carry: rendered from
// the event (or batch) and the webhook's settings exactly as Post renders
// it, so for a webhook unchanged since an attempt it is that attempt's body,
// byte for byte. The webhook's credentials are masked wherever they appear
// in it (a Custom template or an event's data may hold one), as in the
// attempt log. A Custom template renders within its budget (internal/payload),
// never past ctx.
func Body(ctx context.Context, r Request, now time.Time) (string, error) {
	_, _, body, err := renderBody(ctx, r, signingSecrets(r.Webhook, now))
	if err != nil {
		return "", err
	}
	return scrub(storableText(body), credentials(r.Webhook, "")), nil
}
