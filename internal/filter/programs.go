package filter

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// Programs compiles content filters once and keeps them, keyed by the
// expression's text: a program depends on nothing else, so a webhook saved
// again with the same filter, or many webhooks with one filter, share one
// compilation, and a changed filter is a new key. Least recently used out
// first; a caller that keeps the *Program (the matcher, beside each
// webhook) is unaffected by eviction. Safe for concurrent use.
type Programs struct {
	lru *lru.Cache[string, *Program]
}

// DefaultProgramsSize bounds the programs kept: a compiled filter takes a
// few kilobytes.
const DefaultProgramsSize = 10_000

// NewPrograms returns a cache of at most size programs.
func NewPrograms(size int) (*Programs, error) {
	l, err := lru.New[string, *Program](size)
	if err != nil {
		return nil, err
	}
	return &Programs{lru: l}, nil
}

// Compile returns expr's program, compiling it on first use; errors are
// CompileContent's and are not kept.
func (ps *Programs) Compile(expr string) (*Program, error) {
	if p, ok := ps.lru.Get(expr); ok {
		return p, nil
	}
	p, err := CompileContent(expr)
	if err != nil {
		return nil, err
	}
	ps.lru.Add(expr, p)
	return p, nil
}

// Len reports how many programs are kept.
func (ps *Programs) Len() int { return ps.lru.Len() }
