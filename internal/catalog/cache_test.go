package catalog

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/webhookd/webhookd/models"
)

// TestCacheByVersion: a schema is compiled once per (type, version), and a
// new version of the type applies to the very next validation.
func TestCacheByVersion(t *testing.T) {
	c, err := NewCache(2)
	if err != nil {
		t.Fatal(err)
	}
	et := &models.EventType{ID: "t1", Version: 1, Schema: json.RawMessage(`{"properties": {"amount": {"type": "number"}}}`)}
	s1, err := c.Schema(et)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.Schema(et); again != s1 {
		t.Fatal("compiled twice for one version")
	}
	data := json.RawMessage(`{"amount": "12"}`)
	if err := s1.Validate(data); err == nil {
		t.Fatal("version 1 takes a string amount")
	}
	// Version 2 allows strings: the next event sees it.
	et2 := *et
	et2.Version, et2.Schema = 2, json.RawMessage(`{"properties": {"amount": {"type": ["number", "string"]}}}`)
	s2, err := c.Schema(&et2)
	if err != nil || s2 == s1 {
		t.Fatalf("version 2: %v (same schema: %v)", err, s2 == s1)
	}
	if err := s2.Validate(data); err != nil {
		t.Fatalf("version 2 refuses: %v", err)
	}
	// Bounded: a third key evicts the least recently used.
	c.Schema(&models.EventType{ID: "t2", Version: 1, Schema: json.RawMessage(`{}`)})
	if c.Len() != 2 {
		t.Fatalf("holds %d, bound 2", c.Len())
	}
	if again, _ := c.Schema(et); again == s1 {
		t.Fatal("the least recently used schema was kept")
	}
	if _, err := c.Schema(&models.EventType{ID: "t3", Version: 1}); !errors.Is(err, ErrNoSchema) {
		t.Fatalf("a type without a schema: %v", err)
	}
	bad := &models.EventType{ID: "t4", Version: 1, Schema: json.RawMessage(`{"type": 1}`)}
	_, err1 := c.Schema(bad)
	if err1 == nil {
		t.Fatal("a bad schema compiled")
	}
	// A stored schema that no longer compiles is not compiled again at
	// every event: the same error comes back.
	if _, err2 := c.Schema(bad); err2 != err1 {
		t.Fatalf("compiled again: %v", err2)
	}
}

// BenchmarkValidate is the cost validation adds to ingest of one event of
// a strict type (compiled schema from the cache).
func BenchmarkValidate(b *testing.B) {
	c, _ := NewCache(DefaultCacheSize)
	et := &models.EventType{ID: "t1", Version: 1, Schema: json.RawMessage(orderSchema)}
	data := json.RawMessage(`{"orderId": 42, "amount": 99.5, "currency": "EUR", "customer": {"email": "ann@example.com"},
		"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}], "placedAt": "2026-01-01T10:00:00Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.Schema(et)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Validate(data); err != nil {
			b.Fatal(err)
		}
	}
}
