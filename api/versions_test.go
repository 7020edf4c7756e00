package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/webhookd/webhookd/internal/store"
)

// TestConcurrentReadModifyWritePutsLoseNothing: clients that each read the
// webhook, change it and PUT it back at the same time cannot undo each
// other's changes: one wins, the others learn they read an old version.
func TestConcurrentReadModifyWritePutsLoseNothing(t *testing.T) {
	a := newAPI(t, store.Postgres)
	id := a.do("POST", "/api/v1/webhooks", sampleWebhook("contended")).json(t)["id"].(string)
	const writers = 14
	docs := make([]map[string]any, writers)
	for i := range docs {
		docs[i] = a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	}
	statuses := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			docs[i]["description"] = fmt.Sprintf("writer %d", i)
			r := a.do("PUT", "/api/v1/webhooks/"+id, docs[i])
			statuses[i] = r.Status
			if r.Status == 409 && !strings.HasPrefix(r.errorMessage(t), "version: ") {
				t.Errorf("writer %d: %s", i, r.Body)
			}
		})
	}
	wg.Wait()
	won := -1
	for i, st := range statuses {
		switch {
		case st == 200 && won >= 0:
			t.Fatalf("writers %d and %d both answered 200 from the same read: one change is lost (%v)", won, i, statuses)
		case st == 200:
			won = i
		case st != 409:
			t.Fatalf("writer %d: %d", i, st)
		}
	}
	if won < 0 {
		t.Fatalf("no writer won: %v", statuses)
	}
	got := a.do("GET", "/api/v1/webhooks/"+id, nil).json(t)
	if got["description"] != fmt.Sprintf("writer %d", won) || got["version"] != 0.2 {
		t.Fatalf("stored %v at version %v; the winner was writer %d", got["description"], got["version"], won)
	}
}

// TestIfMatch: reads carry the version as the ETag; PUT and PATCH with an
// If-Match that names another version answer 412 and change nothing.
func TestIfMatch(t *testing.T) {
	a := newAPI(t, store.Postgres)
	created := a.do("POST", "/api/v1/webhooks", sampleWebhook("tagged"))
	doc := created.json(t)
	id := doc["id"].(string)
	path := "/api/v1/webhooks/" + id
	if tag := created.Header.Get("ETag"); tag != `"0.1"` {
		t.Fatalf("create's ETag = %q", tag)
	}
	for _, p := range []string{path, "/api/v1/webhooks/name/tagged"} {
		if tag := a.do("GET", p, nil).Header.Get("ETag"); tag != `"0.1"` {
			t.Fatalf("GET %s: ETag %q", p, tag)
		}
	}
	delete(doc, "version") // If-Match alone decides
	put := func(desc, ifMatch string) response {
		doc["description"] = desc
		return a.do("PUT", path, doc, "If-Match", ifMatch)
	}
	if r := put("one", `"0.1"`); r.Status != 200 || r.Header.Get("ETag") != `"0.2"` {
		t.Fatalf("If-Match of the current version: %d %q %s", r.Status, r.Header.Get("ETag"), r.Body)
	}
	for _, stale := range []string{`"0.1"`, `W/"0.2"`, `"0.3"`, `0.2`} {
		if r := put("lost", stale); r.Status != 412 || !strings.HasPrefix(r.errorMessage(t), "If-Match: ") {
			t.Fatalf("If-Match %s: %d %s", stale, r.Status, r.Body)
		}
	}
	if r := a.do("PATCH", path, `[{"op":"add","path":"/description","value":"lost"}]`,
		"Content-Type", "application/json-patch+json", "If-Match", `"0.1"`); r.Status != 412 {
		t.Fatalf("PATCH with a stale If-Match: %d %s", r.Status, r.Body)
	}
	if got := a.do("GET", path, nil).json(t); got["description"] != "one" || got["version"] != 0.2 {
		t.Fatalf("a refused write changed the webhook: %v %v", got["description"], got["version"])
	}
	for _, ok := range []string{`"0.9", "0.2"`, `*`} {
		if r := put("two "+ok, ok); r.Status != 200 {
			t.Fatalf("If-Match %s: %d %s", ok, r.Status, r.Body)
		}
	}
	// A body's version is checked the same way (409), and a PUT with
	// neither still replaces the webhook.
	doc["version"] = 0.2
	if r := put("lost", ""); r.Status != 409 || !strings.Contains(r.errorMessage(t), "version: the webhook is at version 0.4, not 0.2") {
		t.Fatalf("stale body version: %d %s", r.Status, r.Body)
	}
	delete(doc, "version")
	if r := put("last writer", ""); r.Status != 200 {
		t.Fatalf("a PUT without a version: %d %s", r.Status, r.Body)
	}
}
