package filter

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// Validate checks filters as a webhook is saved. Each message starts with
// the JSON path it is about and ": " (zero-based indexes), because the API
// splits on that and returns the message to users as written.
func Validate(filters []models.EventFilter) error {
	if len(filters) == 0 {
		return errors.New("eventFilters: at least one filter is required")
	}
	for i, f := range filters {
		at := fmt.Sprintf("eventFilters[%d]", i)
		if strings.TrimSpace(f.EventType) == "" {
			return fmt.Errorf("%s.eventType: required", at)
		}
		// path.Match checks the whole pattern even when the name does not
		// match, so matching "" is a syntax check. glob uses the same syntax.
		if _, err := path.Match(f.EventType, ""); err != nil {
			return fmt.Errorf("%s.eventType: bad pattern %q: %v", at, f.EventType, err)
		}
		if err := checkList(at+".entities", f.Entities, false); err != nil {
			return err
		}
		if err := checkList(at+".include", f.Include, true); err != nil {
			return err
		}
		if err := checkList(at+".exclude", f.Exclude, true); err != nil {
			return err
		}
	}
	return nil
}

// checkList rejects blank entries, which would never match and so hide a
// typo, and, for include/exclude, `key:value` terms missing either side.
func checkList(at string, list []string, terms bool) error {
	for j, s := range list {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s[%d]: must not be empty", at, j)
		}
		if !terms {
			continue
		}
		if k, v, ok := strings.Cut(s, ":"); ok && (strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "") {
			return fmt.Errorf("%s[%d]: %q needs both a key and a value (key:value)", at, j, s)
		}
	}
	return nil
}
