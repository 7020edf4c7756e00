package ingest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/webhookd/webhookd/internal/filter"
	"github.com/webhookd/webhookd/internal/store"
	"github.com/webhookd/webhookd/models"
)

// matcherStore is what the matcher reads.
type matcherStore interface {
	MatchableWebhooks(ctx context.Context, tenant string) ([]models.Webhook, error)
	MatcherVersion(ctx context.Context, tenant string) (int64, error)
}

// Matcher keeps each tenant's active webhooks in memory, indexed by event
// type and with their content filters compiled, so that an event is matched
// without reading every webhook from the database. Whether a tenant's cache
// is current is decided by its matcher version, which a database trigger
// moves on any change that affects matching, whoever makes it: ingest reads
// the version for every request and hands it to MatchAt, so a change made
// through any replica applies to the next event. Match, for callers that do
// not read it (the operational-event fan-out), trusts the cache for MaxAge
// and is told of this process's changes by Invalidate.
//
// It also counts, per filter, the events it was shown and those it let
// through; TakeCounts hands the counts over for the stats.
type Matcher struct {
	store    matcherStore
	maxAge   time.Duration
	now      func() time.Time
	programs *filter.Programs
	// Log reports stored content filters that no longer compile (they
	// never match); nil discards. Set it before the first event.
	Log *slog.Logger

	mu      sync.Mutex
	tenants map[string]*tenantEntry
	swept   time.Time
	// retired are counts of filters no index holds any more (an edited
	// or removed filter, an idle tenant), kept for the next TakeCounts.
	retired map[countKey]*filter.Counts
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
	// byType holds webhooks whose filters name types exactly, under each
	// type; wildcard those with any glob filter (and none of them is in
	// byType).
	byType   map[string]*typeGroup
	wildcard []*hook
	// counts are every filter's tallies, by webhook and filter key; a
	// reload hands them on to the next index.
	counts map[countKey]*filter.Counts
}

// typeGroup is the webhooks of one exact event type. Those whose one
// filter routes by one field's value (data.customer.id == "c-42": the
// filter requires it, see filter.Equality) are looked up by the event's
// value there, so a thousand of them cost one lookup, not a thousand
// filters run; the rest are tried one by one.
type typeGroup struct {
	hooks []*hook
	keyed []*keyedHooks
}

// keyedHooks are a type's webhooks that route by one field, by its value.
type keyedHooks struct {
	field   filter.Equality // its Path; the values are the map's keys
	byValue map[string][]*hook
	all     []*hook
}

// hook is a webhook as the matcher holds it: with its compiled content
// filters and its filters' tallies, index by index.
type hook struct {
	w        *models.Webhook
	programs []*filter.Program
	counts   []*filter.Counts
}

// countKey names one filter of one webhook.
type countKey struct {
	webhookID, filterKey string
}

// DefaultMatcherMaxAge is how long Match trusts a tenant's cache.
const DefaultMatcherMaxAge = time.Second

// maxRetired bounds the counts kept for filters that are gone while nobody
// takes them (a process that does not write stats).
const maxRetired = 100_000

// NewMatcher returns a Matcher reading from s.
func NewMatcher(s matcherStore, maxAge time.Duration) *Matcher {
	if maxAge <= 0 {
		maxAge = DefaultMatcherMaxAge
	}
	programs, err := filter.NewPrograms(filter.DefaultProgramsSize)
	if err != nil {
		panic("ingest: " + err.Error()) // only for a size below 1
	}
	return &Matcher{store: s, maxAge: maxAge, now: time.Now, programs: programs,
		tenants: map[string]*tenantEntry{}, retired: map[countKey]*filter.Counts{}}
}

// Invalidate makes the next Match of tenant check its version first.
func (m *Matcher) Invalidate(tenant string) {
	e := m.entry(tenant)
	e.mu.Lock()
	e.checked = time.Time{}
	e.invalidations++
	e.mu.Unlock()
}

// Match returns the tenant's active webhooks whose filters match ev, from
// a cache at most MaxAge old (or invalidated by this process since).
func (m *Matcher) Match(ctx context.Context, tenant string, ev filter.Event) ([]*models.Webhook, error) {
	th, err := m.current(ctx, tenant, -1)
	if err != nil {
		return nil, err
	}
	return th.match(ev), nil
}

// MatchAt is Match against the tenant's webhooks at version (just read
// from store.Versions) or later: the cache is used only when it is that
// current, else it is reloaded first.
func (m *Matcher) MatchAt(ctx context.Context, tenant string, version int64, ev filter.Event) ([]*models.Webhook, error) {
	th, err := m.current(ctx, tenant, version)
	if err != nil {
		return nil, err
	}
	return th.match(ev), nil
}

// match tries the webhooks of ev's type and those with a glob. A webhook is
// in one of the two (index), and in byType[t] once, so each is tried once.
func (th *tenantHooks) match(ev filter.Event) []*models.Webhook {
	var out []*models.Webhook
	try := func(hooks []*hook) {
		for _, h := range hooks {
			if filter.MatchCounting(h.w.EventFilters, h.programs, ev, h.counts) {
				out = append(out, h.w)
			}
		}
	}
	if g := th.byType[ev.Type]; g != nil {
		try(g.hooks)
		for _, k := range g.keyed {
			for _, h := range k.all {
				h.counts[0].Seen.Add(1) // each was shown the event (its type is all it asks besides)
			}
			if ev.Content == nil {
				continue
			}
			v, ok := ev.Content.StringAt(k.field)
			if !ok {
				continue
			}
			for _, h := range k.byValue[v] {
				if h.programs[0].Matches(ev.Content) {
					h.counts[0].Matched.Add(1)
					out = append(out, h.w)
				}
			}
		}
	}
	try(th.wildcard)
	return out
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
			if idle && e.hooks != nil {
				m.retireLocked(e.hooks.counts, nil)
			}
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

// current returns the tenant's webhooks. With a known version (>= 0) the
// cache serves if it is at least that version; without one (-1) if it was
// checked less than MaxAge ago, else the version is read. Either way a
// cache behind the version is reloaded.
func (m *Matcher) current(ctx context.Context, tenant string, version int64) (*tenantHooks, error) {
	e := m.entry(tenant)
	fresh := func(th *tenantHooks, checked time.Time) bool {
		if th == nil {
			return false
		}
		if version >= 0 {
			return th.version >= version
		}
		return m.now().Sub(checked) < m.maxAge
	}
	if th, checked, _ := e.snapshot(); fresh(th, checked) {
		return th, nil
	}
	e.refresh.Lock()
	defer e.refresh.Unlock()
	th, checked, gen := e.snapshot()
	if fresh(th, checked) {
		return th, nil // refreshed by another caller meanwhile
	}
	checkedAt := m.now()
	if version < 0 {
		// The version is read before the webhooks: a change in between
		// makes the stored version older than the data, so the next
		// check reloads again, never the other way round. (A caller's
		// version was read before this, too.)
		var err error
		if version, err = m.store.MatcherVersion(ctx, tenant); err != nil {
			return nil, err
		}
	}
	old := th
	if th == nil || th.version < version {
		hooks, err := m.store.MatchableWebhooks(ctx, tenant)
		if err != nil {
			return nil, err
		}
		th = m.index(hooks, version, old)
	}
	e.mu.Lock()
	e.hooks = th
	if e.invalidations == gen {
		e.checked = checkedAt
	} // else: invalidated while loading, so the next Match looks again
	e.mu.Unlock()
	if old != nil && old != th {
		m.mu.Lock()
		m.retireLocked(old.counts, th.counts)
		m.mu.Unlock()
	}
	return th, nil
}

// index builds a tenant's index, compiling content filters (each
// expression once per process) and carrying over the tallies of the
// filters prev held.
func (m *Matcher) index(hooks []models.Webhook, version int64, prev *tenantHooks) *tenantHooks {
	th := &tenantHooks{version: version, byType: map[string]*typeGroup{}, counts: map[countKey]*filter.Counts{}}
	for i := range hooks {
		w := &hooks[i]
		h := &hook{w: w, counts: make([]*filter.Counts, len(w.EventFilters))}
		var err error
		if h.programs, err = m.programs.ForFilters(w.EventFilters); err != nil && m.Log != nil {
			m.Log.Warn("a stored content filter does not compile: it matches nothing until the webhook is saved again",
				"webhook", w.ID, "tenant", w.TenantID, "error", err)
		}
		wild, types := false, map[string]bool{}
		for j, f := range w.EventFilters {
			key := countKey{w.ID, filter.Key(f)}
			c := th.counts[key]
			if c == nil && prev != nil {
				c = prev.counts[key]
			}
			if c == nil {
				c = &filter.Counts{}
			}
			th.counts[key], h.counts[j] = c, c
			if strings.ContainsAny(f.EventType, `*?[\`) {
				wild = true
			} else {
				types[f.EventType] = true
			}
		}
		if wild {
			th.wildcard = append(th.wildcard, h)
			continue
		}
		for t := range types {
			g := th.byType[t]
			if g == nil {
				g = &typeGroup{}
				th.byType[t] = g
			}
			g.add(h)
		}
	}
	return th
}

// add puts h in the group: by value when its one filter asks for nothing
// but the type and a content filter that requires one field's value.
func (g *typeGroup) add(h *hook) {
	fs := h.w.EventFilters
	if len(fs) != 1 || len(fs[0].Entities) > 0 || len(fs[0].Include) > 0 || len(fs[0].Exclude) > 0 ||
		len(h.programs) != 1 || h.programs[0] == nil {
		g.hooks = append(g.hooks, h)
		return
	}
	eq, ok := h.programs[0].Equality()
	if !ok {
		g.hooks = append(g.hooks, h)
		return
	}
	var k *keyedHooks
	for _, existing := range g.keyed {
		if existing.field.Path == eq.Path {
			k = existing
		}
	}
	if k == nil {
		k = &keyedHooks{field: eq, byValue: map[string][]*hook{}}
		g.keyed = append(g.keyed, k)
	}
	k.byValue[eq.Value] = append(k.byValue[eq.Value], h)
	k.all = append(k.all, h)
}

// retireLocked keeps the tallies of old that next does not carry on, for
// the next TakeCounts. m.mu is held.
func (m *Matcher) retireLocked(old, next map[countKey]*filter.Counts) {
	for k, c := range old {
		if _, kept := next[k]; kept || len(m.retired) >= maxRetired {
			continue
		}
		if r, ok := m.retired[k]; ok && r != c {
			r.Seen.Add(c.Seen.Swap(0))
			r.Matched.Add(c.Matched.Swap(0))
			continue
		}
		m.retired[k] = c
	}
}

// TakeCounts returns what every filter did since the last call and starts
// its tallies again from zero. An event being matched while it runs counts in
// this call or the next.
func (m *Matcher) TakeCounts() []store.FilterCount {
	m.mu.Lock()
	sources := []map[countKey]*filter.Counts{m.retired}
	m.retired = map[countKey]*filter.Counts{}
	for _, e := range m.tenants {
		e.mu.Lock()
		if e.hooks != nil {
			sources = append(sources, e.hooks.counts)
		}
		e.mu.Unlock()
	}
	m.mu.Unlock()
	// A filter edited back to what it was has a retired tally and a
	// current one: one answer each.
	at := map[countKey]int{}
	var out []store.FilterCount
	for _, counts := range sources {
		for k, c := range counts {
			seen, matched := c.Seen.Swap(0), c.Matched.Swap(0)
			if seen == 0 && matched == 0 {
				continue
			}
			if i, ok := at[k]; ok {
				out[i].Seen += seen
				out[i].Matched += matched
				continue
			}
			at[k] = len(out)
			out = append(out, store.FilterCount{WebhookID: k.webhookID, FilterKey: k.filterKey, Seen: seen, Matched: matched})
		}
	}
	return out
}
