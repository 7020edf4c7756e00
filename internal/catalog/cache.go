package catalog

import (
	"errors"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/webhookd/webhookd/models"
)

// DefaultCacheSize bounds the compiled schemas a process keeps: about a
// kilobyte to a few hundred kilobytes each, for the types events are posted
// with. A type not in the cache is compiled again (a millisecond or so).
const DefaultCacheSize = 4096

// schemaKey names one version of one type: a type changed on any replica
// moves its version, so a stale compiled schema is never looked up again.
type schemaKey struct {
	id      string
	version int64
}

// Cache keeps compiled schemas per (type id, version), least recently used
// out first. It is safe for concurrent use.
type Cache struct {
	lru *lru.Cache[schemaKey, *Schema]
}

// NewCache returns a cache holding at most size compiled schemas.
func NewCache(size int) (*Cache, error) {
	l, err := lru.New[schemaKey, *Schema](size)
	if err != nil {
		return nil, err
	}
	return &Cache{lru: l}, nil
}

// ErrNoSchema is returned by Schema for a type without one.
var ErrNoSchema = errors.New("catalog: the event type has no schema")

// Schema returns t's compiled schema, compiling it on first use. Two
// callers missing at once may both compile; both get a working schema.
func (c *Cache) Schema(t *models.EventType) (*Schema, error) {
	if len(t.Schema) == 0 {
		return nil, ErrNoSchema
	}
	key := schemaKey{t.ID, t.Version}
	if s, ok := c.lru.Get(key); ok {
		return s, nil
	}
	s, err := CompileSchema(t.Schema)
	if err != nil {
		return nil, err
	}
	c.lru.Add(key, s)
	return s, nil
}

// Len reports how many compiled schemas the cache holds.
func (c *Cache) Len() int { return c.lru.Len() }
