package payload

import "fmt"

// msTeams renders an Adaptive Card message, the format both Teams incoming
// webhooks and the Workflows "post to a channel when a webhook request is
// received" template accept.
func msTeams(f facts) ([]byte, error) {
	title := f.Event
	if title == "" {
		title = "Event"
	}
	body := []any{
		map[string]any{"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Large", "wrap": true},
	}
	if f.Test {
		body = append(body, map[string]any{"type": "TextBlock", "text": "Test message", "weight": "Bolder", "color": "Warning", "wrap": true})
	}
	var facts []any
	addFact := func(title, value string) {
		if value != "" {
			facts = append(facts, map[string]any{"title": title, "value": value})
		}
	}
	addFact("Entity type", f.EntityType)
	addFact("Entity", f.Entity)
	for _, c := range f.Changes {
		addFact("Fields "+c.Kind, c.fieldList())
	}
	addFact("Webhook", f.Webhook)
	addFact("Time", f.Time)
	if len(facts) > 0 { // an empty FactSet fails card validation
		body = append(body, map[string]any{"type": "FactSet", "facts": facts})
	}
	if f.Data != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": f.Data, "fontType": "Monospace", "wrap": true})
	}

	msg := map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard",
				"version": "1.4",
				"body":    body,
			},
		}},
	}
	out, err := marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode Teams message: %w", err)
	}
	return out, nil
}
