package filter

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// Content is what a content filter sees of one event: the envelope a
// receiver gets, under the names it has there. Build one per event; it
// decodes the JSON parts once, on the first filter that reads them, and is
// then shared by every webhook's filter (safe for concurrent use).
type Content struct {
	ID       string
	Type     string // the envelope's "event"
	TenantID string
	// Timestamp is the event's time (a CEL timestamp).
	Timestamp         time.Time
	EntityType        string
	Entity            json.RawMessage
	ChangeDescription json.RawMessage
	Data              json.RawMessage

	once sync.Once
	vals [numVars]ref.Val
}

// The variables a content filter may use, in the order of Content.vals.
const (
	varID = iota
	varEvent
	varTenantID
	varTimestamp
	varEntityType
	varEntity
	varChangeDescription
	varData
	numVars
)

// varNames are the variables' names in expressions: the envelope's keys
// (`event` is the type, as receivers see it; `type` is a CEL keyword).
var varNames = [numVars]string{"id", "event", "tenantId", "timestamp", "entityType", "entity", "changeDescription", "data"}

// decode turns the event into CEL values. JSON numbers are doubles, as in
// CEL's own JSON mapping, whatever their text: `data.amount > 100` holds
// for 150 and for 150.0 alike. Malformed JSON reads as null (ingest refuses
// it before any filter runs).
func (c *Content) decode() {
	c.vals[varID] = types.String(c.ID)
	c.vals[varEvent] = types.String(c.Type)
	c.vals[varTenantID] = types.String(c.TenantID)
	c.vals[varTimestamp] = types.Timestamp{Time: c.Timestamp.UTC()}
	c.vals[varEntityType] = types.String(c.EntityType)
	entity, change := decodeJSON(c.Entity), decodeJSON(c.ChangeDescription)
	c.vals[varEntity] = celValue(entity)
	c.vals[varChangeDescription] = celValue(change)
	data := decodeJSON(c.Data)
	if data == nil {
		// What the envelope sends when an event has no data of its own.
		m := map[string]any{}
		if c.EntityType != "" {
			m["entityType"] = c.EntityType
		}
		if entity != nil {
			m["entity"] = entity
		}
		if change != nil {
			m["changeDescription"] = change
		}
		data = m
	}
	c.vals[varData] = celValue(data)
}

// celValue turns decoded JSON into CEL values, all of it, once per event:
// a thousand webhooks' filters then read fields without converting them
// again (a lazily converted Go map wraps every nested value it hands out).
func celValue(v any) ref.Val {
	switch x := v.(type) {
	case nil:
		return types.NullValue
	case bool:
		return types.Bool(x)
	case float64:
		return types.Double(x)
	case string:
		return types.String(x)
	case []any:
		vals := make([]ref.Val, len(x))
		for i, e := range x {
			vals[i] = celValue(e)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	case map[string]any:
		m := make(map[ref.Val]ref.Val, len(x))
		for k, e := range x {
			m[types.String(k)] = celValue(e)
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

func decodeJSON(raw json.RawMessage) any {
	if isNull(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(bytes.TrimSpace(raw), &v); err != nil {
		return nil
	}
	return v
}

// activation hands a program the decoded values.
type activation struct{ c *Content }

var _ interpreter.Activation = activation{}

func (a activation) ResolveName(name string) (any, bool) {
	for i := range varNames {
		if varNames[i] == name {
			return a.c.vals[i], true
		}
	}
	return nil, false
}

func (activation) Parent() interpreter.Activation { return nil }
