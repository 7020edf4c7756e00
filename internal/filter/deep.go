package filter

import (
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// CEL's cost estimate measures a list or a map by its number of entries,
// not by what they hold. A list the filter builds can hold the event's
// largest values many times over, and a list of such lists more so
// (`[data.s].map(x, [x, x, x, x]).map(x, [x, x, x, x])` holds data.s 16
// times in one entry). Comparing two of those, or formatting one, walks
// all of it: seconds to hours of CPU for one event, at an estimated cost
// of a few hundred units. checkDeep refuses those operations instead, at
// creation, where a value the filter built meets anything but a constant.

// built says what a value may hold that the filter made rather than read:
// self, the value is (or holds) a list or map the filter built with
// non-constant entries; elems, its entries may be such values.
type built struct{ self, elems bool }

func (b built) any() bool { return b.self || b.elems }

func (b built) or(o built) built { return built{b.self || o.self, b.elems || o.elems} }

// checkDeep walks a checked expression; a refused operation is an
// *ExprError at its place.
func checkDeep(a *celast.AST) error {
	d := deepChecker{ast: a, scope: map[string]built{}}
	d.visit(a.Expr())
	return d.err
}

type deepChecker struct {
	ast   *celast.AST
	scope map[string]built // comprehension variables in scope
	err   error
}

func (d *deepChecker) refuse(e celast.Expr, what string) {
	if d.err != nil {
		return
	}
	ee := &ExprError{Msg: what + ": lists and maps the filter builds may hold the event's values many times over; " +
		"compare their fields one by one, or against constants"}
	if loc := d.ast.SourceInfo().GetStartLocation(e.ID()); loc.Line() > 0 {
		ee.Line, ee.Column = loc.Line(), loc.Column()+1
	}
	d.err = ee
}

// constant reports whether e is a literal, or a list or map of them.
func constant(e celast.Expr) bool {
	switch e.Kind() {
	case celast.LiteralKind:
		return true
	case celast.ListKind:
		for _, x := range e.AsList().Elements() {
			if !constant(x) {
				return false
			}
		}
		return true
	case celast.MapKind:
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			if !constant(m.Key()) || !constant(m.Value()) {
				return false
			}
		}
		return true
	}
	return false
}

// scalar reports whether e's checked type is one whose comparison CEL's
// estimate prices by its size.
func (d *deepChecker) scalar(e celast.Expr) bool {
	switch d.ast.GetType(e.ID()).Kind() {
	case types.BoolKind, types.IntKind, types.UintKind, types.DoubleKind, types.StringKind, types.BytesKind,
		types.NullTypeKind, types.TimestampKind, types.DurationKind:
		return true
	}
	return false
}

func (d *deepChecker) visit(e celast.Expr) built {
	switch e.Kind() {
	case celast.IdentKind:
		return d.scope[e.AsIdent()]
	case celast.SelectKind:
		// A field holds one entry: built only if the map's entries may
		// be (`{"a": data.s}.a` is data.s).
		b := d.visit(e.AsSelect().Operand())
		return built{b.elems, b.elems}
	case celast.ListKind:
		var out built
		for _, x := range e.AsList().Elements() {
			b := d.visit(x)
			out.self = out.self || !constant(x)
			out.elems = out.elems || b.any()
		}
		return out
	case celast.MapKind:
		var out built
		for _, en := range e.AsMap().Entries() {
			m := en.AsMapEntry()
			d.visit(m.Key())
			b := d.visit(m.Value())
			out.self = out.self || !constant(m.Key()) || !constant(m.Value())
			out.elems = out.elems || b.any()
		}
		return out
	case celast.ComprehensionKind:
		return d.comprehension(e)
	case celast.CallKind:
		return d.call(e)
	}
	return built{}
}

func (d *deepChecker) comprehension(e celast.Expr) built {
	c := e.AsComprehension()
	r := d.visit(c.IterRange())
	saved := map[string]built{}
	bind := func(name string, b built) {
		if _, ok := saved[name]; !ok {
			saved[name] = d.scope[name]
		}
		d.scope[name] = b
	}
	// Over a list the (last) variable is an entry; over a map the first
	// is a key, a scalar, but taking it as an entry costs nothing.
	elem := built{r.elems, r.elems}
	bind(c.IterVar(), elem)
	if c.HasIterVar2() {
		bind(c.IterVar2(), elem)
	}
	// The accumulator starts as accuInit and takes the step's value each
	// time round. The macros' steps (acc || p, acc + [f], p ? acc + [x] :
	// acc) never put the accumulator inside a new entry, so one walk of
	// the step tells what it may hold, and every node is walked once.
	acc := d.visit(c.AccuInit())
	bind(c.AccuVar(), acc)
	d.visit(c.LoopCondition())
	acc = acc.or(d.visit(c.LoopStep()))
	bind(c.AccuVar(), acc)
	out := d.visit(c.Result())
	for name, b := range saved {
		d.scope[name] = b
	}
	return out
}

func (d *deepChecker) call(e celast.Expr) built {
	c := e.AsCall()
	args := c.Args()
	var target built
	if c.IsMemberFunction() {
		target = d.visit(c.Target())
	}
	bs := make([]built, len(args))
	for i, a := range args {
		bs[i] = d.visit(a)
	}
	switch c.FunctionName() {
	case operators.Equals, operators.NotEquals:
		if !constant(args[0]) && !constant(args[1]) && (bs[0].any() || bs[1].any()) {
			d.refuse(e, "a comparison of a list or map the filter builds")
		}
	case operators.In:
		if !constant(args[0]) && (bs[0].any() || bs[1].any()) {
			d.refuse(e, "`in` over a list or map the filter builds")
		}
	case "format":
		// Its argument is always a list literal; what matters is what
		// its entries hold.
		var entries built
		for i, a := range args {
			if a.Kind() == celast.ListKind {
				entries = entries.or(built{bs[i].elems, bs[i].elems})
			} else {
				entries = entries.or(bs[i])
			}
		}
		if entries.any() || target.any() {
			d.refuse(e, "format() of a list or map the filter builds")
		}
	case operators.Conditional:
		return bs[1].or(bs[2])
	case operators.Add:
		return bs[0].or(bs[1])
	case operators.Index:
		// One entry, as for a field: `data.items.filter(i, i.main)[0]`
		// is one of the event's items.
		b := bs[0]
		return built{b.elems, b.elems}
	}
	if d.scalar(e) {
		return built{}
	}
	// Another call made of built values may hand them on (dyn(x)).
	out := target
	for _, b := range bs {
		out = out.or(b)
	}
	return built{out.any(), out.any()}
}
