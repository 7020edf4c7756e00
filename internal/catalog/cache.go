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
	lru *lru.Cache[schemaKey, compiled]
}

// compiled is a schema, or why a stored one no longer compiles (a rule
// added after it was saved): kept too, so that each event of the type does
// not compile a schema of up to 256 KiB again only to fail.
type compiled struct {
	s   *Schema
	err error
}

// NewCache returns a cache holding at most size compiled schemas.
func NewCache(size int) (*Cache, error) {
	l, err := lru.New[schemaKey, compiled](size)
	if err != nil {
		return nil, err
	}
	return &Cache{lru: l}, nil
}

// ErrNoSchema is returned by Schema for a type without one.
var ErrNoSchema = errors.New("catalog: the event type has no schema")

// Schema returns t's compiled schema, compiling it on first use (an error
// is kept as the schema would be). Two
// callers missing at once may both compile; both get a working schema.
func (c *Cache) Schema(t *models.EventType) (*Schema, error) {
	if len(t.Schema) == 0 {
		return nil, ErrNoSchema
	}
	key := schemaKey{t.ID, t.Version}
	if e, ok := c.lru.Get(key); ok {
		return e.s, e.err
	}
	s, err := CompileSchema(t.Schema)
	c.lru.Add(key, compiled{s, err})
	return s, err
}

// Len reports how many compiled schemas the cache holds.
func (c *Cache) Len() int { return c.lru.Len() }
