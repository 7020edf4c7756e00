package filter

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
)

// A content filter (eventFilters[].filter) is a CEL expression over the
// envelope (see Content): `data.amount > 100 && data.currency == "EUR"`.
// It is compiled and its cost bounded when the webhook is saved, never at
// ingest; at ingest it only runs, and anything short of `true` (false, a
// missing field, a type mismatch, the runtime cost limit) is no match.

// MaxExprLength bounds an expression's text.
const MaxExprLength = 4096

// maxEventBytes bounds every string, list and map an event holds: a posted
// event is at most 1 MiB, so none of its parts is larger. The static cost
// estimate assumes the worst: every value that size.
const maxEventBytes = 1 << 20

// CostLimit is the most an expression may cost, in CEL's cost units (about
// one per operation, strings and lists priced by their size). Checked
// twice: the worst-case estimate when the filter is saved must stay within
// it, and an evaluation that passes it anyway stops there and does not
// match. The estimate takes every list and string of the event to be 1 MiB
// long, so a scan of a list (`data.items.exists(i, i.price > 100)`) counts
// about 7 million: a filter may scan lists about four times, never a scan
// inside a scan (a trillion). On a 1 MiB event holding half a million
// items, one scan takes about a tenth of a second of CPU (2 cores, 2026);
// on the events most producers post (a few KiB), filters cost microseconds.
const CostLimit = 30_000_000

// trackedCost is the estimate from which a program runs with the runtime
// limit. Below it, the program has no loop and reads no value by its size
// (every such call is priced at the size of a 1 MiB value, far above it):
// it runs in time bounded by its own length, and tracking its cost would
// only double or triple the time it takes.
const trackedCost = 10_000

// env is the one CEL environment of content filters: the standard library
// plus string helpers, and the envelope's variables.
var env = mustEnv()

func mustEnv() *cel.Env {
	opts := []cel.EnvOption{
		ext.Strings(),
		// JSON numbers are doubles; `data.amount > 100` compares a
		// double with an int.
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		cel.CostModel(formatCost),
		cel.CostModel(scanCosts...),
	}
	for i, name := range varNames {
		t := cel.DynType
		switch i {
		case varID, varEvent, varTenantID, varEntityType:
			t = cel.StringType
		case varTimestamp:
			t = cel.TimestampType
		}
		opts = append(opts, cel.Variable(name, t))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		panic("filter: CEL environment: " + err.Error())
	}
	return e
}

// formatCost prices s.format(list), which the strings extension leaves at
// one unit whatever it builds: without it, a format of a format's result
// (`[data.s].map(x, "%s%s%s%s".format([x, x, x, x])).map(...)`) was
// estimated at a few hundred units and built gigabytes from a 1 MiB
// event. Its result is at most the format string, each argument expanded
// formatExpansion times (%x writes a code point as up to 8 hex digits, %s
// of a list quotes and escapes its strings), and formatPerArg more per
// argument (numbers; precision is at most 100); building it costs like
// scanning a string of that size. Formatting a list or map the filter
// built is refused beforehand (checkDeep): its size here counts entries.
var formatCost = cost.MemberOverload("string_format",
	cost.EvalCost(cost.Sum(cost.Const(cost.CallCost), cost.StringScan(cost.Length(cost.Target())), cost.StringScan(cost.Length(cost.Result())))),
	cost.ResultSize(cost.AtMost(cost.Sum(cost.Target(),
		cost.Scale(cost.ElemTotal(cost.Arg(0)), formatExpansion),
		cost.Mul(cost.Length(cost.Arg(0)), cost.Const(formatPerArg))))),
)

const (
	formatExpansion = 10
	formatPerArg    = 512
)

// scanCosts price what reads a whole string but the standard library
// counts as one unit: size() counts code points, and conversions parse or
// copy it. Inside a loop over the event's items, `size(data.note) > 0` read
// a half-megabyte note once per item, minutes for one event, at an
// estimate of a few million.
var scanCosts = func() []cost.OverloadModel {
	scan := cost.EvalCost(cost.Sum(cost.Const(cost.CallCost), cost.StringScan(cost.Arg(0))))
	var out []cost.OverloadModel
	for _, id := range []string{overloads.SizeString, overloads.StringToInt, overloads.StringToUint, overloads.StringToDouble,
		overloads.StringToBytes, overloads.BytesToString, overloads.StringToTimestamp, overloads.StringToDuration} {
		out = append(out, cost.Overload(id, scan))
	}
	return append(out, cost.MemberOverload(overloads.SizeStringInst,
		cost.EvalCost(cost.Sum(cost.Const(cost.CallCost), cost.StringScan(cost.Target())))))
}()

// compareTrackers charge comparisons of strings by their lengths in
// bytes. CEL's tracker charges the shorter side, as the estimate does, but
// sizes both by counting code points: once per item of a loop
// (`data.items.exists(i, data.note == "x")`) that read a half-megabyte
// note each time, minutes for one event at an estimate of a few million.
// Bytes are never fewer than code points, so the charge is never less.
var compareTrackers = func() []cost.TrackerOption {
	track := func(args []ref.Val, _ ref.Val) *uint64 {
		if len(args) != 2 {
			return nil
		}
		a, okA := args[0].(types.String)
		b, okB := args[1].(types.String)
		if !okA || !okB {
			return nil // other values: CEL's own charge, which sizes them cheaply
		}
		c := uint64(math.Ceil(float64(min(len(a), len(b))) * cost.StringTraversalCostFactor))
		return &c
	}
	var out []cost.TrackerOption
	for _, id := range []string{overloads.Equals, overloads.NotEquals, overloads.LessString, overloads.LessEqualsString,
		overloads.GreaterString, overloads.GreaterEqualsString} {
		out = append(out, cost.OverloadTracker(id, track))
	}
	return out
}()

// Program is a compiled content filter, safe for concurrent use.
type Program struct {
	expr string
	prg  cel.Program
	eq   *Equality // what it requires, if it requires one equality
	// Cost is the worst-case cost estimate, at most CostLimit. From
	// trackedCost up, evaluation also stops at CostLimit.
	Cost uint64
}

// ExprError is an expression the compiler refuses, or one that may cost
// too much: the compiler's message and where in the expression (1-based;
// 0 when the problem is the whole expression).
type ExprError struct {
	Line, Column int
	Msg          string
}

func (e *ExprError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// CompileContent compiles expr; a problem is an *ExprError.
func CompileContent(expr string) (*Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &ExprError{Msg: "must not be empty"}
	}
	if len(expr) > MaxExprLength {
		return nil, &ExprError{Msg: fmt.Sprintf("at most %d characters", MaxExprLength)}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		first := iss.Errors()[0]
		e := &ExprError{Msg: first.Message}
		if loc := first.Location; loc != nil && loc.Line() > 0 {
			e.Line, e.Column = loc.Line(), loc.Column()+1
		}
		return nil, e
	}
	if t := ast.OutputType(); !t.IsAssignableType(cel.BoolType) {
		return nil, &ExprError{Msg: fmt.Sprintf("must be a condition (bool), not %s", t)}
	}
	if err := checkDeep(ast.NativeRep()); err != nil {
		return nil, err
	}
	if err := checkPatterns(ast.NativeRep()); err != nil {
		return nil, err
	}
	est, err := env.EstimateCost(ast, eventSizes{})
	if err != nil {
		return nil, &ExprError{Msg: "cost: " + err.Error()}
	}
	if est.Max > CostLimit {
		return nil, &ExprError{Msg: fmt.Sprintf("may cost up to %s, above the limit of %d: "+
			"the worst case takes every list and string of the event to be 1 MiB long: scan lists a few times at most, never a scan inside a scan", costText(est.Max), CostLimit)}
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est.Max >= trackedCost {
		opts = append(opts, cel.CostLimit(CostLimit), cel.CostTrackerOptions(compareTrackers...))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, &ExprError{Msg: err.Error()}
	}
	return &Program{expr: expr, prg: prg, Cost: est.Max, eq: requiredEquality(ast.NativeRep().Expr())}, nil
}

func costText(c uint64) string {
	if c == ^uint64(0) {
		return "an unbounded amount"
	}
	return fmt.Sprint(c)
}

// String returns the expression.
func (p *Program) String() string { return p.expr }

// Matches reports whether the expression is true for c. An error (a
// missing field, a type mismatch, the cost limit) is no match: a filter
// never fails an event's ingest.
func (p *Program) Matches(c *Content) bool {
	ok, _ := p.Eval(c)
	return ok
}

// ErrNotBool is Eval's error when the expression's value is not a bool (a
// dyn field used as the whole condition).
var ErrNotBool = errors.New("filter: the expression's value is not a bool")

// Eval is Matches with the reason for no match when there is one: an
// evaluation error, or ErrNotBool.
func (p *Program) Eval(c *Content) (bool, error) {
	c.once.Do(c.decode)
	out, _, err := p.prg.Eval(activation{c})
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, ErrNotBool
	}
	return bool(b), nil
}

// eventSizes tells the cost estimator how large an event's values can be.
type eventSizes struct{}

func (eventSizes) EstimateSize(cost.AstNode) *cost.SizeEstimate {
	return &cost.SizeEstimate{Min: 0, Max: maxEventBytes}
}

func (eventSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}
