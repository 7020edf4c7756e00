package payload

import (
	"fmt"
	"strings"
)

// googleChatMax stays under Google Chat's 4096-character text limit.
const googleChatMax = 4000

// googleChat renders a Google Chat incoming-webhook message as formatted
// text, which every Chat client shows, unlike cards.
func googleChat(f facts) ([]byte, error) {
	title := f.Event
	if title == "" {
		title = "Event"
	}
	lines := []string{"*" + title + "*"}
	if f.Test {
		lines[0] += " (test message)"
	}
	if f.EntityType != "" {
		lines = append(lines, "Entity type: "+f.EntityType)
	}
	if f.Entity != "" {
		lines = append(lines, "Entity: "+f.Entity)
	}
	for _, c := range f.Changes {
		lines = append(lines, "Fields "+c.Kind+": "+c.fieldList())
	}
	if f.Data != "" {
		lines = append(lines, "```"+f.Data+"```")
	}
	footer := f.Time
	if f.Webhook != "" {
		footer = "Webhook " + f.Webhook + " · " + footer
	}
	lines = append(lines, "_"+footer+"_")

	out, err := marshal(map[string]string{"text": truncate(strings.Join(lines, "\n"), googleChatMax)})
	if err != nil {
		return nil, fmt.Errorf("encode Google Chat message: %w", err)
	}
	return out, nil
}
