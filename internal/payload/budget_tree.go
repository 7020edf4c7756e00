package payload

import (
	"text/template"
	"text/template/parse"
)

// instrument rewrites every template of the set (the main one, each
// {{define}} and {{block}}) so that running it charges the budget:
//
//   - a body starts with {{budgetEnter}} and ends with {{budgetLeave}}:
//     each {{template}} call is a step, and calls nest a bounded depth;
//   - {{range X}} becomes {{range X | budgetRange}}: a length the budget
//     cannot pay for stops the render before the first iteration;
//   - a range body starts with {{budgetIteration}}: each iteration is a
//     step and looks at the clock, however the body spends its time.
//
// The template's text is never inspected for what it might do: whatever
// loops, it loops through these calls.
func instrument(t *template.Template) {
	done := map[*parse.Tree]bool{}
	for _, tt := range t.Templates() {
		tree := tt.Tree
		if tree == nil || tree.Root == nil || done[tree] {
			continue
		}
		done[tree] = true
		instrumentList(tree.Root)
		root := tree.Root
		root.Nodes = append([]parse.Node{call(fnEnter, root.Pos, 0)}, root.Nodes...)
		root.Nodes = append(root.Nodes, call(fnLeave, root.Pos, 0))
	}
}

func instrumentList(l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.RangeNode:
			n.Pipe.Cmds = append(n.Pipe.Cmds, command(fnRange, n.Pos))
			instrumentList(n.List)
			instrumentList(n.ElseList)
			if n.List != nil {
				n.List.Nodes = append([]parse.Node{call(fnIteration, n.Pos, n.Line)}, n.List.Nodes...)
			}
		case *parse.IfNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.WithNode:
			instrumentList(n.List)
			instrumentList(n.ElseList)
		case *parse.ListNode:
			instrumentList(n)
		}
	}
}

// call is the action {{name}}; it prints nothing. pos is where the user's
// text caused it, so errors point there.
func call(name string, pos parse.Pos, line int) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Line: line, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos, Line: line, Cmds: []*parse.CommandNode{command(name, pos)},
	}}
}

func command(name string, pos parse.Pos) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{parse.NewIdentifier(name).SetPos(pos)}}
}
