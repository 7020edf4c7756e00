package filter

import (
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/overloads"
)

// checkPatterns refuses matches() whose pattern is not a string literal.
// A literal pattern is compiled once, with the program; a pattern read
// from the event is compiled at every evaluation, and compiling is not
// priced by CEL's estimate (it prices the match, by the sizes of the text
// and the pattern, which is small when the text is): a 500 KiB pattern
// such as `(a|b)*(a|b)*...` took over a second and allocated gigabytes
// to compile, at an estimated cost of 50,000, and a filter fits a hundred
// such matches.
func checkPatterns(a *celast.AST) error {
	var err error
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if err != nil || e.Kind() != celast.CallKind || e.AsCall().FunctionName() != overloads.Matches {
			return
		}
		args := e.AsCall().Args()
		if len(args) == 0 {
			return
		}
		if p := args[len(args)-1]; p.Kind() != celast.LiteralKind {
			ee := &ExprError{Msg: "matches() takes its pattern as a string literal (\"...\"), not a value read or built at each event"}
			if loc := a.SourceInfo().GetStartLocation(p.ID()); loc.Line() > 0 {
				ee.Line, ee.Column = loc.Line(), loc.Column()+1
			}
			err = ee
		}
	}))
	return err
}
