package filter

import (
	"strings"

	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/traits"
)

// Equality is a condition a content filter cannot be true without: the
// value at Path (a variable of the envelope, then field names) is the
// string Value. Content filters that route by one field
// (data.customer.id == "c-42", alone or in a chain of &&) have one, and a
// matcher can look their webhooks up by the event's value instead of
// running every filter.
type Equality struct {
	// Path is the field, dotted: data.customer.id.
	Path  string
	Value string
	path  []string
}

// Equality returns the condition the program requires, if it has one.
func (p *Program) Equality() (Equality, bool) {
	if p.eq == nil {
		return Equality{}, false
	}
	return *p.eq, true
}

// requiredEquality finds `path == "string"` (either way round) in e or in
// one of the conjuncts of a chain of &&: CEL's && is true only when each
// conjunct is, and == only between equal values of one type.
func requiredEquality(e celast.Expr) *Equality {
	if e.Kind() != celast.CallKind {
		return nil
	}
	c := e.AsCall()
	args := c.Args()
	switch c.FunctionName() {
	case operators.LogicalAnd:
		for _, a := range args {
			if eq := requiredEquality(a); eq != nil {
				return eq
			}
		}
	case operators.Equals:
		if len(args) != 2 {
			return nil
		}
		for _, pair := range [2][2]celast.Expr{{args[0], args[1]}, {args[1], args[0]}} {
			path, ok := fieldPath(pair[0])
			if !ok || pair[1].Kind() != celast.LiteralKind {
				continue
			}
			if s, ok := pair[1].AsLiteral().(types.String); ok {
				return &Equality{Path: strings.Join(path, "."), Value: string(s), path: path}
			}
		}
	}
	return nil
}

// fieldPath reads a chain of field selections from one of the envelope's
// variables (data.customer.id); has() and indexing are not one.
func fieldPath(e celast.Expr) ([]string, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		for _, name := range varNames {
			if name == e.AsIdent() {
				return []string{name}, true
			}
		}
	case celast.SelectKind:
		s := e.AsSelect()
		if s.IsTestOnly() {
			return nil, false
		}
		if path, ok := fieldPath(s.Operand()); ok {
			return append(path, s.FieldName()), true
		}
	}
	return nil, false
}

// StringAt returns the string at eq's path in c, if the event has one
// there.
func (c *Content) StringAt(eq Equality) (string, bool) {
	c.once.Do(c.decode)
	var v any
	for i, name := range varNames {
		if name == eq.path[0] {
			v = c.vals[i]
		}
	}
	for _, field := range eq.path[1:] {
		m, ok := v.(traits.Mapper)
		if !ok {
			return "", false
		}
		if v, ok = m.Find(types.String(field)); !ok {
			return "", false
		}
	}
	s, ok := v.(types.String)
	return string(s), ok
}
