package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/webhookd/webhookd/models"
)

// FieldError says what is wrong with one field of an event type: Path is
// the JSON field (schema, examples[2]/amount), Msg what is wrong.
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// namePattern is the `type` an event may be posted with: a type's name
// must be one of those, or no event could ever be of that type.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,256}$`)

// ReservedPrefix starts the names of webhookd's own types (Builtins); no
// tenant or admin may define one.
const ReservedPrefix = "webhookd."

// MaxDescription bounds a type's description, as a webhook's.
const MaxDescription = 64 << 10

// MaxSchema and MaxExamples bound a type's schema and its examples, as
// written. Ingest keeps a tenant's strict types in memory and the export
// holds the whole catalog; with the quota of types per tenant
// (TENANT_MAX_EVENT_TYPES) they bound what one tenant's catalog can take.
// Event schemas run to a few kilobytes.
const (
	MaxSchema   = 256 << 10
	MaxExamples = 64 << 10
)

// Check validates an event type as it is created or changed; the first
// problem is a *FieldError. Examples must be valid against the type's own
// schema, so that the catalog never shows an example a strict type would
// refuse.
func Check(t *models.EventType) error {
	if t.Name == "" {
		return &FieldError{"name", "required"}
	}
	if !namePattern.MatchString(t.Name) {
		return &FieldError{"name", "1-256 characters of A-Z a-z 0-9 _ . : / - (the type events are posted with)"}
	}
	if strings.HasPrefix(t.Name, ReservedPrefix) {
		return &FieldError{"name", fmt.Sprintf("%s* names are webhookd's own event types", ReservedPrefix)}
	}
	if len(t.Description) > MaxDescription {
		return &FieldError{"description", "at most 64 KiB"}
	}
	if len(t.Schema) > MaxSchema {
		return &FieldError{"schema", "at most 256 KiB"}
	}
	if len(t.Examples) > MaxExamples {
		return &FieldError{"examples", "at most 64 KiB in all"}
	}
	var schema *Schema
	if hasValue(t.Schema) {
		var err error
		if schema, err = CompileSchema(t.Schema); err != nil {
			return &FieldError{"schema", err.Error()}
		}
		if err := checkExportable(t.Schema); err != nil {
			return &FieldError{"schema", err.Error()}
		}
	} else if t.Validate {
		return &FieldError{"validate", "needs a schema to validate against"}
	}
	if !hasValue(t.Examples) {
		return nil
	}
	var examples []json.RawMessage
	if err := json.Unmarshal(t.Examples, &examples); err != nil {
		return &FieldError{"examples", "must be a JSON array of example data"}
	}
	if schema == nil {
		return nil
	}
	for i, ex := range examples {
		var de *DataError
		if err := schema.Validate(ex); errors.As(err, &de) {
			return &FieldError{fmt.Sprintf("examples[%d]%s", i, strings.TrimPrefix(de.Path, "/data")), de.Msg}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// hasValue reports whether raw holds a JSON value other than null.
func hasValue(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}
