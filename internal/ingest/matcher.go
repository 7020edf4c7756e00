package ingest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/models"
)

// matcherStore is what the matcher reads.
type matcherStore interface {
	MatchableWebhooks(ctx context.Context, tenant string) ([]models.Webhook, error)
	MatcherVersion(ctx context.Context, tenant string) (int64, error)
}

// Matcher keeps each tenant's active webhooks in memory, indexed by event
// type, so that an event is matched without reading every webhook from the
// database. A tenant's cache is trusted for MaxAge; after that one cheap
// query (the tenant's matcher version, which a database trigger moves on any
// change that affects matching, whoever makes it) decides whether to reload.
// Changes made through this process are seen by the next event (Invalidate);
// changes made elsewhere (another replica, a 410 recorded by a worker)
// within MaxAge.
type Matcher struct {
	store  matcherStore
	maxAge time.Duration
	now    func() time.Time

	mu      sync.Mutex
	tenants map[string]*tenantEntry
	swept   time.Time
}

type tenantEntry struct {
	refresh sync.Mutex // one reload at a time per tenant
	mu      sync.Mutex
	hooks   *tenantHooks // replaced whole, never changed in place
	checked time.Time
	// invalidations counts Invalidate calls: a reload that began before
	// one must not mark the cache fresh, or the change is missed.
	invalidations uint64
	used          time.Time
}

// tenantHooks is one tenant's active webhooks at one version.
type tenantHooks struct {
	version int64
	// byType holds webhooks with a filter naming the type exactly;
	// wildcard those with any glob filter. A webhook in both is matched
	// once.
	byType   map[string][]*models.Webhook
	wildcard []*models.Webhook
}

// DefaultMatcherMaxAge is how stale another replica's view may be.
const DefaultMatcherMaxAge = time.Second

// NewMatcher returns a Matcher reading from s.
func NewMatcher(s matcherStore, maxAge time.Duration) *Matcher {
	if maxAge <= 0 {
		maxAge = DefaultMatcherMaxAge
	}
	return &Matcher{store: s, maxAge: maxAge, now: time.Now, tenants: map[string]*tenantEntry{}}
}

// Invalidate makes the next Match of tenant check its version first.
func (m *Matcher) Invalidate(tenant string) {
	e := m.entry(tenant)
	e.mu.Lock()
	e.checked = time.Time{}
	e.invalidations++
	e.mu.Unlock()
}

// Match returns the tenant's active webhooks whose filters match ev.
func (m *Matcher) Match(ctx context.Context, tenant string, ev filter.Event) ([]*models.Webhook, error) {
	th, err := m.current(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []*models.Webhook
	seen := map[string]bool{}
	for _, group := range [][]*models.Webhook{th.byType[ev.Type], th.wildcard} {
		for _, w := range group {
			if !seen[w.ID] && filter.Matches(w.EventFilters, ev) {
				seen[w.ID] = true
				out = append(out, w)
			}
		}
	}
	return out, nil
}

// idleAfter is how long a tenant's cache is kept without events; a tenant
// that comes back reloads its webhooks.
const idleAfter = 10 * time.Minute

func (m *Matcher) entry(tenant string) *tenantEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.swept) > idleAfter {
		for id, e := range m.tenants {
			e.mu.Lock()
			idle := now.Sub(e.used) > idleAfter
			e.mu.Unlock()
			if idle {
				delete(m.tenants, id)
			}
		}
		m.swept = now
	}
	e, ok := m.tenants[tenant]
	if !ok {
		e = &tenantEntry{}
		m.tenants[tenant] = e
	}
	e.mu.Lock()
	e.used = now
	e.mu.Unlock()
	return e
}

func (e *tenantEntry) snapshot() (*tenantHooks, time.Time, uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hooks, e.checked, e.invalidations
}

// current returns the tenant's webhooks, reloading them if their version
// moved since the last check.
func (m *Matcher) current(ctx context.Context, tenant string) (*tenantHooks, error) {
	e := m.entry(tenant)
	if th, checked, _ := e.snapshot(); th != nil && m.now().Sub(checked) < m.maxAge {
		return th, nil
	}
	e.refresh.Lock()
	defer e.refresh.Unlock()
	th, checked, gen := e.snapshot()
	if th != nil && m.now().Sub(checked) < m.maxAge {
		return th, nil // refreshed by another caller meanwhile
	}
	checkedAt := m.now()
	// The version is read before the webhooks: a change in between makes
	// the stored version older than the data, so the next check reloads
	// again, never the other way round.
	version, err := m.store.MatcherVersion(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if th == nil || th.version != version {
		hooks, err := m.store.MatchableWebhooks(ctx, tenant)
		if err != nil {
			return nil, err
		}
		th = index(hooks, version)
	}
	e.mu.Lock()
	e.hooks = th
	if e.invalidations == gen {
		e.checked = checkedAt
	} // else: invalidated while loading, so the next Match looks again
	e.mu.Unlock()
	return th, nil
}

func index(hooks []models.Webhook, version int64) *tenantHooks {
	th := &tenantHooks{version: version, byType: map[string][]*models.Webhook{}}
	for i := range hooks {
		w := &hooks[i]
		wild, types := false, map[string]bool{}
		for _, f := range w.EventFilters {
			if strings.ContainsAny(f.EventType, `*?[\`) {
				wild = true
			} else {
				types[f.EventType] = true
			}
		}
		if wild {
			th.wildcard = append(th.wildcard, w)
			continue
		}
		for t := range types {
			th.byType[t] = append(th.byType[t], w)
		}
	}
	return th
}
