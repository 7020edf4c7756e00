package redact

import (
	"net/url"
	"strings"
)

// Incoming-webhook URLs carry their token in the path, where a read or a
// log would show it: hooks.slack.com/services/T…/B…/<token>,
// discord.com/api/webhooks/<id>/<token>, hooks.zapier.com/hooks/catch/<id>/<token>,
// Teams' …webhook.office.com/webhookb2/<guid>@<guid>/IncomingWebhook/<hex>/<guid>,
// webhook.site/<uuid>. A path segment is a token when
//
//   - the host is known to keep one there and the segment is at that place
//     (tokenPlaces), or
//   - it looks random, anywhere: at least minTokenLength characters, with
//     at least minTokenDigits digits and as many letters, and nothing but
//     letters, digits and -_.~@=+% (uuids, hex and base64url keys; not
//     words, dates or version numbers).
//
// Tokens are masked wherever Endpoint and URL mask, and a URL with one is
// sealed at rest like one with query credentials (the store's secrets.go).
const (
	minTokenLength = 20
	minTokenDigits = 3
)

// tokenPlace says where a known host's token starts: after a fixed prefix
// of segments and skip more (ids). hooks.slack.com/services/T/B/<token> has
// prefix ["services"] and skips 2. Every segment from the token to the end
// is masked.
type tokenPlace struct {
	prefix []string
	skip   int
}

var tokenPlaces = map[string][]tokenPlace{
	"hooks.slack.com":     {{[]string{"services"}, 2}, {[]string{"workflows"}, 3}, {[]string{"triggers"}, 2}},
	"hooks.slack-gov.com": {{[]string{"services"}, 2}, {[]string{"workflows"}, 3}, {[]string{"triggers"}, 2}},
	"discord.com":         {{[]string{"api", "webhooks"}, 1}},
	"discordapp.com":      {{[]string{"api", "webhooks"}, 1}},
	"ptb.discord.com":     {{[]string{"api", "webhooks"}, 1}},
	"canary.discord.com":  {{[]string{"api", "webhooks"}, 1}},
	"hooks.zapier.com":    {{[]string{"hooks", "catch"}, 1}, {[]string{"hooks", "standard"}, 1}},
}

// pathTokens splits u's escaped path at "/" and returns the indexes of the
// segments that are tokens.
func pathTokens(u *url.URL) (segs []string, hidden []int) {
	segs = strings.Split(u.EscapedPath(), "/")
	// "hooks.slack.com." (fully qualified) reaches the same receiver.
	known := knownPlace(strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), segs)
	for i, s := range segs {
		if s != "" && s != Mask && ((known > 0 && i >= known) || randomLooking(s)) {
			hidden = append(hidden, i)
		}
	}
	return segs, hidden
}

// knownPlace is the index in segs (segs[0] is before the first "/") of the
// first token of a known host's URL, or 0.
func knownPlace(host string, segs []string) int {
	for _, p := range tokenPlaces[host] {
		if len(segs) <= len(p.prefix) {
			continue
		}
		match := true
		for i, want := range p.prefix {
			match = match && strings.EqualFold(segs[1+i], want)
		}
		if match {
			return 1 + len(p.prefix) + p.skip
		}
	}
	return 0
}

func randomLooking(s string) bool {
	if len(s) < minTokenLength {
		return false
	}
	digits, letters := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			letters++
		case strings.ContainsRune("-_.~@=+%", c):
		default:
			return false
		}
	}
	return digits >= minTokenDigits && letters >= minTokenDigits
}
