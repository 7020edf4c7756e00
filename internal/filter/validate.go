package filter

import (
	"fmt"
	"path"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// FieldError says what is wrong with one field: Path is the JSON path the
// user wrote (eventFilters[0].include[2], zero-based), Msg what is wrong.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

func fieldError(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks filters as a webhook is saved; a problem is a *FieldError.
func Validate(filters []models.EventFilter) error {
	if len(filters) == 0 {
		return fieldError("eventFilters", "at least one filter is required")
	}
	for i, f := range filters {
		at := fmt.Sprintf("eventFilters[%d]", i)
		if strings.TrimSpace(f.EventType) == "" {
			return fieldError(at+".eventType", "required")
		}
		// path.Match checks the whole pattern even when the name does not
		// match, so matching "" is a syntax check. glob uses the same syntax.
		if _, err := path.Match(f.EventType, ""); err != nil {
			return fieldError(at+".eventType", "bad pattern %q: %v", f.EventType, err)
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
		if f.Filter != "" {
			if err := ValidateContent(at+".filter", f.Filter); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkList rejects blank entries, which would never match and so hide a
// typo, and, for include/exclude, `key:value` terms missing either side.
func checkList(at string, list []string, terms bool) error {
	for j, s := range list {
		if strings.TrimSpace(s) == "" {
			return fieldError(fmt.Sprintf("%s[%d]", at, j), "must not be empty")
		}
		if !terms {
			continue
		}
		if k, v, ok := strings.Cut(s, ":"); ok && (strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "") {
			return fieldError(fmt.Sprintf("%s[%d]", at, j), "%q needs both a key and a value (key:value)", s)
		}
	}
	return nil
}

// ValidateContent checks a content filter as a webhook is saved: path names
// the field (eventFilters[0].filter) and the message is the compiler's, with
// the place in the expression, or the cost refusal.
func ValidateContent(path, expr string) error {
	if _, err := CompileContent(expr); err != nil {
		return fieldError(path, "%s", err.Error())
	}
	return nil
}
