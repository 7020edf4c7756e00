package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/models"
)

// order is an envelope as a producer posts it: data of its own.
func order(data string) *Content {
	return &Content{ID: "evt_1", Type: "order.created", TenantID: "acme",
		Timestamp: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Data: json.RawMessage(data)}
}

// tableEvent is OpenMetadata's shape: an entity and a change, no data; the
// envelope's data is then {entityType, entity, changeDescription}.
func tableEvent() *Content {
	return &Content{ID: "evt_2", Type: "entityUpdated", TenantID: "default", EntityType: "table",
		Timestamp:         time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Entity:            json.RawMessage(`{"name": "customers", "domain": {"name": "Sales"}, "tags": [{"tagFQN": "PII.Sensitive"}], "rows": 15}`),
		ChangeDescription: json.RawMessage(`{"fieldsUpdated": [{"name": "tags"}]}`)}
}

func TestContentFilters(t *testing.T) {
	eur := order(`{"amount": 150, "currency": "EUR", "priority": "high", "customer": {"tier": "gold", "email": "Ann@Acme.com"},
		"items": [{"sku": "a", "price": 120.5}, {"sku": "b", "price": 5}], "tags": ["new", "vip"], "count": 3, "note": null}`)
	usd := order(`{"amount": 99.99, "currency": "USD", "items": []}`)
	text := order(`{"amount": "150", "currency": "EUR"}`)
	noData := &Content{ID: "evt_3", Type: "order.created", TenantID: "acme"}
	cases := []struct {
		expr string
		ev   *Content
		want bool
	}{
		// The examples.
		{`data.amount > 100 && data.currency == "EUR"`, eur, true},
		{`data.amount > 100 && data.currency == "EUR"`, usd, false},
		{`has(data.priority)`, eur, true},
		{`has(data.priority)`, usd, false},
		// Numbers are doubles whatever their JSON text, and compare with
		// ints and doubles alike.
		{`data.count == 3`, eur, true},
		{`data.count == 3.0`, eur, true},
		{`data.amount >= 99.99`, usd, true},
		{`data.amount < 100`, usd, true},
		{`data.count + 1.0 == 4.0`, eur, true},
		// Nested paths, lists, maps, strings.
		{`data.customer.tier == "gold"`, eur, true},
		{`data.customer.email.lowerAscii().endsWith("@acme.com")`, eur, true},
		{`data.customer.email.matches("^[A-Z]")`, eur, true},
		{`data.items.exists(i, i.price > 100)`, eur, true},
		{`data.items.exists(i, i.price > 100)`, usd, false},
		{`data.items.all(i, i.price > 1)`, eur, true},
		{`size(data.items) == 2`, eur, true},
		{`"vip" in data.tags`, eur, true},
		{`"customer" in data`, usd, false},
		{`data.currency in ["EUR", "GBP"]`, eur, true},
		{`data.note == null`, eur, true},
		// The envelope's other fields, under the envelope's names.
		{`event == "order.created"`, eur, true},
		{`event.startsWith("invoice.")`, eur, false},
		{`id == "evt_1" && tenantId == "acme"`, eur, true},
		{`timestamp >= timestamp("2026-03-01T00:00:00Z")`, eur, true},
		{`timestamp.getHours() == 12`, eur, true},
		{`entityType == "table" && entity.domain.name == "Sales"`, tableEvent(), true},
		{`entity.tags.exists(t, t.tagFQN.startsWith("PII."))`, tableEvent(), true},
		{`changeDescription.fieldsUpdated.exists(f, f.name == "tags")`, tableEvent(), true},
		// Without data of its own, data is what the receiver gets.
		{`data.entity.name == "customers" && data.entityType == "table"`, tableEvent(), true},
		{`size(data) == 0`, noData, true},
		// Missing fields and wrong types are no match, never an error.
		{`data.priority == "high"`, usd, false},
		{`data.priority != "high"`, usd, false},
		{`data.customer.tier == "gold"`, usd, false},
		{`data.amount > 100`, text, false},
		{`entity.name == "x"`, eur, false},
		{`data.amount > 100`, noData, false},
		// An error on one side of || or && does not decide alone.
		{`data.priority == "high" || data.amount > 50`, usd, true},
		{`data.priority == "high" && data.amount > 50`, usd, false},
		// A value that is not a bool is no match.
		{`data.priority`, eur, false},
	}
	for _, c := range cases {
		p, err := CompileContent(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got := p.Matches(c.ev); got != c.want {
			_, evalErr := p.Eval(c.ev)
			t.Errorf("%s on %s: %v, want %v (%v)", c.expr, c.ev.Data, got, c.want, evalErr)
		}
	}
}

func TestContentFilterCompileErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`data.amount >`, "line 1, column 14: Syntax error: mismatched input '<EOF>'"},
		{`foo == 1`, "line 1, column 1: undeclared reference to 'foo'"},
		{`type == "order.created"`, "line 1, column 6: found no matching overload for '_==_'"},
		{"data.amount > 1 &&\n  event == 5", "line 2, column 9: found no matching overload for '_==_' applied to '(string, int)'"},
		{`data.amount + 1`, "must be a condition (bool), not"},
		{`event`, "must be a condition (bool), not string"},
		{`data.amount > 100 && data.currency == "EUR`, "line 1, column 39: Syntax error: token recognition error at: '\"EUR'"},
		{``, "must not be empty"},
		{`   `, "must not be empty"},
		{strings.Repeat("true && ", 600) + "true", "at most 4096 characters"},
	}
	for _, c := range cases {
		_, err := CompileContent(c.expr)
		var ee *ExprError
		if !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q...", c.expr, err, c.want)
		}
	}
	// The API's field error names the filter.
	err := ValidateContent("eventFilters[1].filter", `foo == 1`)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "eventFilters[1].filter" || fe.Msg != "line 1, column 1: undeclared reference to 'foo'" {
		t.Errorf("ValidateContent: %#v", err)
	}
	if err := ValidateContent("eventFilters[0].filter", `has(data.priority)`); err != nil {
		t.Errorf("a good filter: %v", err)
	}
}

func TestContentFilterCostLimit(t *testing.T) {
	for _, expr := range []string{
		`data.items.exists(i, data.items.exists(j, i.price > j.price))`,
		`data.a.all(x, data.b.all(y, data.c.all(z, x + y + z > 0.0)))`,
		`data.items.exists(i, data.customer.email.matches("^[a-z]+@"))`,
	} {
		_, err := CompileContent(expr)
		if err == nil || !strings.Contains(err.Error(), "above the limit of 30000000") {
			t.Errorf("%s: %v, want a cost refusal", expr, err)
		}
	}
	// A few scans of lists are within the limit.
	for _, expr := range []string{
		`data.items.exists(i, i.price > 100)`,
		`data.items.map(i, i.price).exists(p, p > 100)`,
		`data.items.exists(i, i.sku == "a") && data.tags.exists(t, t == "vip") && "x" in data.labels`,
		`data.customer.email.lowerAscii().endsWith("@acme.com")`,
	} {
		p, err := CompileContent(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if p.Cost == 0 || p.Cost > CostLimit {
			t.Errorf("%s: estimated cost %d", expr, p.Cost)
		}
	}
}

// TestContentFilterRuntimeLimit: the estimate takes values to be 1 MiB, so
// an accepted filter stays below the runtime limit on any event ingest
// takes; the limit still stops one that would not, as no match.
func TestContentFilterRuntimeLimit(t *testing.T) {
	ast, iss := env.Compile(`data.items.all(i, data.items.all(j, true))`)
	if iss.Err() != nil {
		t.Fatal(iss.Err())
	}
	prg, err := env.Program(ast, costLimit(1000))
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{expr: "quadratic", prg: prg}
	items := strings.Repeat("1,", 200) + "1"
	ev := order(`{"items": [` + items + `]}`)
	ok, err := p.Eval(ev)
	if ok || err == nil || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Fatalf("over the runtime limit: %v %v", ok, err)
	}
	if p.Matches(ev) {
		t.Fatal("an evaluation stopped by the limit matched")
	}
	// Compiled filters that loop run with the limit; the sizes in the
	// estimate keep them below it on any event ingest takes.
	scan, err := CompileContent(`data.items.all(i, i > 0)`)
	if err != nil {
		t.Fatal(err)
	}
	if scan.Cost < trackedCost {
		t.Fatalf("a scan is estimated at %d, below the tracked cost", scan.Cost)
	}
	big := order(`{"items": [` + strings.Repeat("1,", 100_000) + `1]}`)
	if ok, err := scan.Eval(big); !ok || err != nil {
		t.Fatalf("a scan of 100,001 items: %v %v", ok, err)
	}
	// Those that do not loop are estimated far below it.
	for _, expr := range []string{`data.amount > 100 && data.currency == "EUR"`, `has(data.a.b.c) || event.startsWith("x")`} {
		if p, _ := CompileContent(expr); p.Cost >= trackedCost/100 {
			t.Errorf("%s is estimated at %d", expr, p.Cost)
		}
	}
}

func TestMatchesWith(t *testing.T) {
	big, err := CompileContent(`data.amount > 100`)
	if err != nil {
		t.Fatal(err)
	}
	eur := order(`{"amount": 150}`)
	small := order(`{"amount": 5}`)
	ev := func(c *Content) Event { return Event{Type: "order.created", Content: c} }
	orders := models.EventFilter{EventType: "order.*"}
	invoices := models.EventFilter{EventType: "invoice.*"}
	cases := []struct {
		name     string
		filters  []models.EventFilter
		programs []*Program
		ev       Event
		want     bool
	}{
		{"no programs: Matches", []models.EventFilter{orders}, nil, ev(small), true},
		{"content true", []models.EventFilter{orders}, []*Program{big}, ev(eur), true},
		{"content false", []models.EventFilter{orders}, []*Program{big}, ev(small), false},
		{"type miss: the program does not rescue it", []models.EventFilter{invoices}, []*Program{big}, ev(eur), false},
		{"no content: a program never matches", []models.EventFilter{orders}, []*Program{big}, Event{Type: "order.created"}, false},
		{"second filter without a program", []models.EventFilter{orders, orders}, []*Program{big, nil}, ev(small), true},
		{"programs shorter than filters", []models.EventFilter{orders, orders}, []*Program{big}, ev(small), true},
	}
	for _, c := range cases {
		if got := MatchesWith(c.filters, c.programs, c.ev); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestProgramsCompileOnce(t *testing.T) {
	ps, err := NewPrograms(2)
	if err != nil {
		t.Fatal(err)
	}
	a1, err := ps.Compile(`data.amount > 100`)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := ps.Compile(`data.amount > 100`)
	if a1 != a2 {
		t.Fatal("the same expression compiled twice")
	}
	if _, err := ps.Compile(`data.amount >`); err == nil || ps.Len() != 1 {
		t.Fatalf("a bad expression: %v, %d kept", err, ps.Len())
	}
	ps.Compile(`has(data.b)`)
	ps.Compile(`has(data.c)`)
	if ps.Len() != 2 {
		t.Fatalf("bounded at 2, holds %d", ps.Len())
	}
	if a3, _ := ps.Compile(`data.amount > 100`); a3 == a1 {
		t.Fatal("the least recently used program was not evicted")
	}
}

// TestContentSharedAcrossGoroutines: one event's Content is decoded once
// and read by many filters at once (go test -race).
func TestContentSharedAcrossGoroutines(t *testing.T) {
	p, err := CompileContent(`data.items.exists(i, i.price > 100) && event == "order.created"`)
	if err != nil {
		t.Fatal(err)
	}
	ev := order(`{"items": [{"price": 120}]}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if !p.Matches(ev) {
					t.Error("no match")
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkContentFilter evaluates one compiled filter on a decoded event:
// the cost a webhook with a content filter adds to matching.
func BenchmarkContentFilter(b *testing.B) {
	for _, c := range []struct{ name, expr string }{
		{"compare", `data.amount > 100 && data.currency == "EUR"`},
		{"has", `has(data.priority)`},
		{"exists", `data.items.exists(i, i.price > 100)`},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, err := CompileContent(c.expr)
			if err != nil {
				b.Fatal(err)
			}
			ev := order(`{"amount": 150, "currency": "EUR", "priority": "high", "items": [{"price": 5}, {"price": 120}]}`)
			b.ReportAllocs()
			for b.Loop() {
				if !p.Matches(ev) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// BenchmarkContentDecode is the once-per-event part: decoding the envelope
// for every filter of the event to read.
func BenchmarkContentDecode(b *testing.B) {
	p, err := CompileContent(`has(data.priority)`)
	if err != nil {
		b.Fatal(err)
	}
	data := json.RawMessage(`{"amount": 150, "currency": "EUR", "priority": "high", "items": [{"price": 5}, {"price": 120}]}`)
	b.ReportAllocs()
	for b.Loop() {
		p.Matches(order(string(data)))
	}
}

// BenchmarkMatches1000 is the matcher's work for one event against 1,000
// webhooks subscribed to its type: without content filters, and with one
// each (different thresholds, so no program is shared). The event's
// envelope is decoded once per event, as the matcher would.
func BenchmarkMatches1000(b *testing.B) {
	const n = 1000
	filters := []models.EventFilter{{EventType: "order.*"}}
	programs := make([][]*Program, n)
	for i := range programs {
		p, err := CompileContent(fmt.Sprintf(`data.amount > %d && data.currency == "EUR"`, i))
		if err != nil {
			b.Fatal(err)
		}
		programs[i] = []*Program{p}
	}
	data := json.RawMessage(`{"amount": 500, "currency": "EUR", "orderId": 42, "customer": {"tier": "gold"}}`)
	for _, withContent := range []bool{false, true} {
		b.Run(map[bool]string{false: "without", true: "with"}[withContent], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ev := Event{Type: "order.created", Content: order(string(data))}
				matched := 0
				for i := range n {
					var ps []*Program
					if withContent {
						ps = programs[i]
					}
					if MatchesWith(filters, ps, ev) {
						matched++
					}
				}
				if want := map[bool]int{false: n, true: 500}[withContent]; matched != want {
					b.Fatalf("%d matched, want %d", matched, want)
				}
			}
		})
	}
}

// TestMatchCounting: each filter tallies the events of its types it was
// shown and those it let through; the first filter that matches ends the
// walk.
func TestMatchCounting(t *testing.T) {
	big, err := CompileContent(`data.amount > 100`)
	if err != nil {
		t.Fatal(err)
	}
	filters := []models.EventFilter{
		{EventType: "order.*", Filter: `data.amount > 100`},
		{EventType: "order.refunded"},
		{EventType: "invoice.*", Entities: []string{"customer"}},
	}
	programs := []*Program{big, nil, nil}
	counts := []*Counts{{}, {}, {}}
	for _, c := range []struct {
		typ, entityType, data string
		want                  bool
	}{
		{"order.created", "", `{"amount": 150}`, true},  // filter 0 matches
		{"order.created", "", `{"amount": 5}`, false},   // filter 0 sees, nothing matches
		{"order.refunded", "", `{"amount": 5}`, true},   // 0 sees, 1 matches
		{"invoice.paid", "supplier", `{}`, false},       // no filter takes the entity
		{"invoice.paid", "customer", `{}`, true},        // filter 2 matches
		{"shipment.sent", "", `{"amount": 500}`, false}, // nobody sees it
		{"order.refunded", "", `{"amount": 500}`, true}, // 0 matches: 1 is not shown it
	} {
		ev := Event{Type: c.typ, EntityType: c.entityType, Content: &Content{Type: c.typ, Data: json.RawMessage(c.data)}}
		if got := MatchCounting(filters, programs, ev, counts); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.typ, c.data, got, c.want)
		}
	}
	want := [][2]int64{{4, 2}, {1, 1}, {1, 1}}
	for i, w := range want {
		if got := [2]int64{counts[i].Seen.Load(), counts[i].Matched.Load()}; got != w {
			t.Errorf("filter %d: seen, matched = %v, want %v", i, got, w)
		}
	}
}

func TestKeyFollowsWhatAFilterSays(t *testing.T) {
	a := models.EventFilter{EventType: "order.*", Filter: `data.amount > 100`}
	b := a
	if Key(a) != Key(b) || len(Key(a)) != 16 {
		t.Fatalf("equal filters: %s, %s", Key(a), Key(b))
	}
	for _, c := range []models.EventFilter{
		{EventType: "order.*", Filter: `data.amount > 101`},
		{EventType: "order.created", Filter: `data.amount > 100`},
		{EventType: "order.*", Filter: `data.amount > 100`, Entities: []string{"order"}},
		{EventType: "order.*", Filter: `data.amount > 100`, Include: []string{"tags"}},
		{EventType: "order.*", Filter: `data.amount > 100`, Exclude: []string{"tags"}},
	} {
		if Key(c) == Key(a) {
			t.Errorf("%+v has the key of %+v", c, a)
		}
	}
}

func TestProgramsForFilters(t *testing.T) {
	ps, err := NewPrograms(10)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ps.ForFilters([]models.EventFilter{{EventType: "*"}}); got != nil || err != nil {
		t.Fatalf("no content filters: %v, %v", got, err)
	}
	got, err := ps.ForFilters([]models.EventFilter{{EventType: "*"}, {EventType: "*", Filter: `has(data.x)`}})
	if err != nil || len(got) != 2 || got[0] != nil || got[1] == nil || got[1].String() != `has(data.x)` {
		t.Fatalf("one content filter: %v, %v", got, err)
	}
	// A stored expression that no longer compiles never matches.
	got, err = ps.ForFilters([]models.EventFilter{{EventType: "*", Filter: `nosuch > 1`}})
	if err == nil || !strings.HasPrefix(err.Error(), "eventFilters[0].filter: ") {
		t.Fatalf("a broken filter: %v", err)
	}
	if MatchesWith([]models.EventFilter{{EventType: "*"}}, got, Event{Type: "a", Content: order(`{}`)}) {
		t.Fatal("a broken filter matched")
	}
}

// TestRequiredEquality: a filter that cannot be true unless one field is
// one string says which; any other says none. And the event's value there.
func TestRequiredEquality(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`data.customer.id == "c-42"`, `data.customer.id == "c-42"`},
		{`"c-42" == data.customer.id`, `data.customer.id == "c-42"`},
		{`data.amount > 100 && data.currency == "EUR"`, `data.currency == "EUR"`},
		{`has(data.priority) && event == "order.created" && data.x > 1`, `event == "order.created"`},
		{`entity.owner.name == "finance"`, `entity.owner.name == "finance"`},
		{`data.a == "x" || data.b == "y"`, ``},
		{`!(data.a == "x")`, ``},
		{`data.a == 1`, ``},
		{`data.items[0].sku == "x"`, ``},
		{`data.a == data.b`, ``},
		{`data.a != "x"`, ``},
		{`has(data.priority)`, ``},
	} {
		p, err := CompileContent(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if eq, ok := p.Equality(); ok {
			got = fmt.Sprintf("%s == %q", eq.Path, eq.Value)
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.expr, got, c.want)
		}
	}
	ev := &Content{Type: "order.created", Data: json.RawMessage(`{"customer": {"id": "c-42", "n": 7}, "list": ["a"]}`)}
	for _, c := range []struct {
		expr, want string
		ok         bool
	}{
		{`data.customer.id == "x"`, "c-42", true},
		{`event == "x"`, "order.created", true},
		{`data.customer.n == "x"`, "", false},
		{`data.customer.missing == "x"`, "", false},
		{`data.list.x == "x"`, "", false},
		{`data.customer.id.deeper == "x"`, "", false},
	} {
		p, _ := CompileContent(c.expr)
		eq, _ := p.Equality()
		if got, ok := ev.StringAt(eq); got != c.want || ok != c.ok {
			t.Errorf("%s: %q %v, want %q %v", c.expr, got, ok, c.want, c.ok)
		}
	}
}

// TestBuiltValuesAreNotWalked: CEL's estimate counts a list by its entries,
// so a list the filter builds out of the event's values (and lists of
// those) could be compared or formatted for minutes at an estimate of a
// few hundred units; such filters are refused at creation, with the place.
func TestBuiltValuesAreNotWalked(t *testing.T) {
	nest := strings.Repeat(".map(x, [x, x, x, x, x, x, x, x])", 4)
	for _, c := range []struct{ expr, want string }{
		{`[data.s]` + nest + ` == [data.t]` + nest, "a comparison of a list or map the filter builds"},
		{`[data.s]` + nest + `.exists(x, [data.t]` + nest + `.exists(y, x == y))`, "a comparison of a list or map the filter builds"},
		{`data.t in [data.s]` + nest, "`in` over a list or map the filter builds"},
		{`[data.s]` + nest + `.exists(x, "%s".format([x]) == "")`, "format() of a list or map the filter builds"},
		{`data.items.map(x, data.s) == data.items.map(x, data.t)`, "a comparison of a list or map the filter builds"},
		{`data.items.exists(i, [data.s] == [data.t])`, "a comparison of a list or map the filter builds"},
		{`data.items.exists(i, {"a": data.s} == {"a": data.t})`, "a comparison of a list or map the filter builds"},
		{`dyn([data.s]) == dyn([data.t])`, "a comparison of a list or map the filter builds"},
		{`[[data.s]` + nest + `][0] == [[data.t]` + nest + `][0]`, "a comparison of a list or map the filter builds"},
		{`{"k": [data.s]` + nest + `}.k == {"k": [data.t]` + nest + `}.k`, "a comparison of a list or map the filter builds"},
		{`data.items.map(i, [data.s, data.s])[0] == data.items.map(i, [data.t])[0]`, "a comparison of a list or map the filter builds"},
	} {
		_, err := CompileContent(c.expr)
		var ee *ExprError
		if !errors.As(err, &ee) || ee.Line != 1 || ee.Column == 0 || !strings.Contains(ee.Msg, c.want) {
			t.Errorf("%s: %v, want %q at its place", c.expr, err, c.want)
		}
	}
	// Built values compared with constants, and the event's own values,
	// stay allowed.
	ev := order(`{"a": "x", "b": "y", "items": [1, 2, 3], "tags": ["vip"]}`)
	for _, expr := range []string{
		`[data.a, data.b] == ["x", "y"]`,
		`[data.a, data.b].exists(x, x == "y")`,
		`data.items.map(i, i * 2.0) == [2.0, 4.0, 6.0]`,
		`data.tags.exists(t, t in ["a", "vip"])`,
		`data.items.filter(i, i > 1).size() == 2`,
		`data.items == data.items`,
		`"%s-%s".format([data.a, data.b]) == "x-y"`,
		// An entry of a built list, or a field of a built map, is one of
		// the event's values.
		`data.items.filter(i, i > 2.0)[0] == data.items[2]`,
		`{"k": data.a}.k == data.a`,
	} {
		p, err := CompileContent(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if !p.Matches(ev) {
			t.Errorf("%s: no match", expr)
		}
	}
}

// TestPatternsAreLiterals: a pattern read from the event is compiled at
// every evaluation, and CEL's estimate does not price compiling it (500 KiB
// of `(a|b|c|d)*` took over a second and gigabytes of allocation at an
// estimate of 50,000); matches() takes literal patterns only, which are
// compiled once with the program.
func TestPatternsAreLiterals(t *testing.T) {
	for _, expr := range []string{
		`"x".matches(data.pattern)`,
		`matches("x", data.pattern)`,
		`data.s.matches("^" + data.prefix)`,
		`data.items.exists(i, i.sku.matches(i.pattern))`,
	} {
		_, err := CompileContent(expr)
		var ee *ExprError
		if !errors.As(err, &ee) || ee.Line != 1 || ee.Column == 0 || !strings.Contains(ee.Msg, "string literal") {
			t.Errorf("%s: %v, want a refusal at the pattern", expr, err)
		}
	}
	ev := order(`{"email": "ann@acme.com"}`)
	for _, expr := range []string{
		`data.email.matches("@acme\\.com$")`,
		`matches(data.email, "^ann@")`,
	} {
		p, err := CompileContent(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if !p.Matches(ev) {
			t.Errorf("%s: no match", expr)
		}
	}
}

// TestFormatIsPriced: the strings extension prices format() at one unit
// whatever it builds; a format of a format's result grew a 1 MiB event
// into gigabytes at an estimate of a few hundred units.
func TestFormatIsPriced(t *testing.T) {
	eight := `"%s%s%s%s%s%s%s%s".format([x, x, x, x, x, x, x, x])`
	one, err := CompileContent(`[data.s].map(x, ` + eight + `).size() > 0`)
	if err != nil {
		t.Fatal(err)
	}
	if one.Cost < 1_000_000 {
		t.Errorf("one format of eight 1 MiB strings is estimated at %d", one.Cost)
	}
	_, err = CompileContent(`[data.s].map(x, ` + eight + `).map(x, ` + eight + `).size() > 0`)
	if err == nil || !strings.Contains(err.Error(), "above the limit") {
		t.Errorf("a format of a format's result: %v, want a cost refusal", err)
	}
}

// TestWholeStringReadsArePriced: size() and conversions read a whole
// string, which CEL prices at one unit; inside a loop over the event's
// items they read a large field once per item (19 s for 20,000 items and a
// 256 KiB field), at an estimate of a few million. They are priced by the
// string's size now: refused in a loop, fine once.
func TestWholeStringReadsArePriced(t *testing.T) {
	for _, expr := range []string{
		`data.items.exists(i, size(data.note) == 0)`,
		`data.items.exists(i, data.note.size() == 0)`,
		`data.items.exists(i, int(data.note) == 1)`,
		`data.items.exists(i, double(data.note) == 1.0)`,
		`data.items.exists(i, size(bytes(data.note)) == 1)`,
		`data.items.exists(i, timestamp(data.note) > timestamp("2026-01-01T00:00:00Z"))`,
	} {
		if _, err := CompileContent(expr); err == nil || !strings.Contains(err.Error(), "above the limit") {
			t.Errorf("%s: %v, want a cost refusal", expr, err)
		}
	}
	ev := order(`{"note": "` + strings.Repeat("n", 1000) + `", "count": "3", "items": [{"sku": "a"}]}`)
	for _, expr := range []string{
		`size(data.note) > 10`,
		`int(data.count) == 3`,
		`data.items.exists(i, i.sku == "a") && size(data.note) == 1000`,
	} {
		p, err := CompileContent(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if !p.Matches(ev) {
			t.Errorf("%s: no match", expr)
		}
	}
}

// BenchmarkLoopComparesLargeField: a loop that compares one large field
// with a constant for each of 20,000 items. CEL's tracker counted the
// field's code points at every comparison (25 s for a 256 KiB field on 2
// busy cores); charged by bytes, the comparison is as cheap as it runs.
func BenchmarkLoopComparesLargeField(b *testing.B) {
	p, err := CompileContent(`data.items.exists(i, data.note == "x")`)
	if err != nil {
		b.Fatal(err)
	}
	data := `{"note": "` + strings.Repeat("n", 256<<10) + `", "items": [` + strings.Repeat("1,", 20_000) + `1]}`
	for b.Loop() {
		ev := order(data)
		if ok, err := p.Eval(ev); ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
