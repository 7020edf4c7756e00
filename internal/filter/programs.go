package filter

import (
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/webhookd/webhookd/models"
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

// ForFilters returns the compiled content filters of filters, index by
// index (nil where a filter has none), or nil when none has one. A stored
// expression that no longer compiles (one an older webhookd accepted) gets
// a program that never matches: the webhook then receives less than it
// asked for, never more. The first such error is returned beside the
// programs, for the caller to report.
func (ps *Programs) ForFilters(filters []models.EventFilter) ([]*Program, error) {
	var (
		out      []*Program
		firstErr error
	)
	for i, f := range filters {
		if f.Filter == "" {
			continue
		}
		if out == nil {
			out = make([]*Program, len(filters))
		}
		p, err := ps.Compile(f.Filter)
		if err != nil {
			p = never
			if firstErr == nil {
				firstErr = fmt.Errorf("eventFilters[%d].filter: %w", i, err)
			}
		}
		out[i] = p
	}
	return out, firstErr
}

// never is the program of a filter that no longer compiles.
var never = func() *Program {
	p, err := CompileContent("false")
	if err != nil {
		panic("filter: " + err.Error())
	}
	return p
}()
