package payload

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Slack Block Kit limits; Slack rejects the whole message past them.
const (
	slackHeaderMax  = 150
	slackFieldMax   = 2000
	slackSectionMax = 3000
)

// slack renders a Slack incoming-webhook message: fallback text for
// notifications plus Block Kit blocks for the channel.
func slack(f facts) ([]byte, error) {
	header := f.Event
	if header == "" {
		header = "Event"
	}
	blocks := []any{
		map[string]any{"type": "header", "text": plainText(truncate(header, slackHeaderMax))},
	}
	if f.Test {
		blocks = append(blocks, slackContext("*Test message*"))
	}
	var fields []any
	if f.EntityType != "" {
		fields = append(fields, mrkdwn("*Entity type*\n"+slackEscape(f.EntityType, slackFieldMax-len("*Entity type*\n"))))
	}
	if f.Entity != "" {
		fields = append(fields, mrkdwn("*Entity*\n"+slackEscape(f.Entity, slackFieldMax-len("*Entity*\n"))))
	}
	if len(fields) > 0 {
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields})
	}
	if len(f.Changes) > 0 {
		var lines []string
		for _, c := range f.Changes {
			lines = append(lines, "• "+c.Kind+": "+c.fieldList())
		}
		text := "*Changed fields*\n" + slackEscape(strings.Join(lines, "\n"), slackSectionMax-len("*Changed fields*\n"))
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn(text)})
	}
	if f.Data != "" {
		text := "*Data*\n```" + slackEscape(f.Data, slackSectionMax-len("*Data*\n``````")) + "```"
		blocks = append(blocks, map[string]any{"type": "section", "text": mrkdwn(text)})
	}
	footer := f.Time
	if f.Webhook != "" {
		footer = "Webhook " + f.Webhook + " · " + footer
	}
	blocks = append(blocks, slackContext(slackEscape(footer, slackSectionMax)))

	body, err := marshal(map[string]any{
		"text":   slackEscape(f.summary(), slackSectionMax),
		"blocks": blocks,
	})
	if err != nil {
		return nil, fmt.Errorf("encode Slack message: %w", err)
	}
	return body, nil
}

func plainText(s string) map[string]any { return map[string]any{"type": "plain_text", "text": s} }
func mrkdwn(s string) map[string]any    { return map[string]any{"type": "mrkdwn", "text": s} }

func slackContext(text string) map[string]any {
	return map[string]any{"type": "context", "elements": []any{mrkdwn(text)}}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves for
// links and mentions, so an entity name cannot ping @channel, and shortens
// the result to max runes without cutting an escape sequence in half.
func slackEscape(s string, max int) string {
	escape := func(r rune) string {
		switch r {
		case '&':
			return "&amp;"
		case '<':
			return "&lt;"
		case '>':
			return "&gt;"
		}
		return string(r)
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := escape(r)
		n += utf8.RuneCountInString(piece)
		b.WriteString(piece)
	}
	if n <= max {
		return b.String()
	}
	// Too long: rebuild up to max-1 runes and mark the cut.
	b.Reset()
	n = 0
	for _, r := range s {
		piece := escape(r)
		w := utf8.RuneCountInString(piece)
		if n+w > max-1 {
			break
		}
		b.WriteString(piece)
		n += w
	}
	return b.String() + "…"
}
