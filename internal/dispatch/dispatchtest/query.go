package dispatchtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/webhookd/webhookd/internal/dispatch"
)

// where is a parsed visibility query: clauses that must all hold.
type where []clause

// clause is `Name = value` or `Name IN (value, ...)`.
type clause struct {
	name   string
	values []string
}

// match reports whether a workflow's latest run r, open or not, is one the
// query selects. Names are WorkflowType, WorkflowId, ExecutionStatus (only
// 'Running': the fake does not know how a closed run closed) and search
// attributes, which a run without them never matches.
func (w where) match(r dispatch.Run, open bool) (bool, error) {
	for _, c := range w {
		var v string
		switch c.name {
		case "WorkflowType":
			v = r.Workflow
		case "WorkflowId":
			v = r.WorkflowID
		case "ExecutionStatus":
			if !slices.Equal(c.values, []string{"Running"}) {
				return false, fmt.Errorf("dispatchtest: ExecutionStatus %v: only 'Running' is faked", c.values)
			}
			if !open {
				return false, nil
			}
			continue
		default:
			attr, ok := r.SearchAttributes[c.name]
			if !ok {
				return false, nil
			}
			v = attr
		}
		if !slices.Contains(c.values, v) {
			return false, nil
		}
	}
	return true, nil
}

// parseQuery reads the part of Temporal's visibility query language that
// webhookd writes: clauses joined by AND, values quoted with " (Go syntax,
// as %q writes them) or '. Anything else is an error, so that a query the
// fake would misread fails the test instead of matching wrongly.
func parseQuery(q string) (where, error) {
	p := &queryParser{rest: q}
	var w where
	for {
		c, err := p.clause()
		if err != nil {
			return nil, fmt.Errorf("dispatchtest: query %q: %w", q, err)
		}
		w = append(w, c)
		p.space()
		if p.rest == "" {
			return w, nil
		}
		if !p.keyword("AND") {
			return nil, fmt.Errorf("dispatchtest: query %q: want AND at %q", q, p.rest)
		}
	}
}

type queryParser struct{ rest string }

func (p *queryParser) space() { p.rest = strings.TrimLeftFunc(p.rest, unicode.IsSpace) }

// keyword consumes kw (any case) followed by a space or "(".
func (p *queryParser) keyword(kw string) bool {
	p.space()
	if len(p.rest) <= len(kw) || !strings.EqualFold(p.rest[:len(kw)], kw) {
		return false
	}
	if next := rune(p.rest[len(kw)]); !unicode.IsSpace(next) && next != '(' {
		return false
	}
	p.rest = p.rest[len(kw):]
	return true
}

func (p *queryParser) clause() (clause, error) {
	p.space()
	end := strings.IndexFunc(p.rest, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' })
	if end < 0 {
		end = len(p.rest)
	}
	if end == 0 {
		return clause{}, fmt.Errorf("want a name at %q", p.rest)
	}
	c := clause{name: p.rest[:end]}
	p.rest = p.rest[end:]
	p.space()
	switch {
	case strings.HasPrefix(p.rest, "="):
		p.rest = p.rest[1:]
		v, err := p.value()
		if err != nil {
			return clause{}, err
		}
		c.values = []string{v}
	case p.keyword("IN"):
		p.space()
		if !strings.HasPrefix(p.rest, "(") {
			return clause{}, fmt.Errorf("want ( at %q", p.rest)
		}
		p.rest = p.rest[1:]
		for {
			v, err := p.value()
			if err != nil {
				return clause{}, err
			}
			c.values = append(c.values, v)
			p.space()
			if strings.HasPrefix(p.rest, ")") {
				p.rest = p.rest[1:]
				break
			}
			if !strings.HasPrefix(p.rest, ",") {
				return clause{}, fmt.Errorf("want , or ) at %q", p.rest)
			}
			p.rest = p.rest[1:]
		}
	default:
		return clause{}, fmt.Errorf("want = or IN at %q", p.rest)
	}
	return c, nil
}

// value reads one quoted value.
func (p *queryParser) value() (string, error) {
	p.space()
	if p.rest == "" {
		return "", errors.New("want a value at the end")
	}
	switch p.rest[0] {
	case '"':
		quoted, err := strconv.QuotedPrefix(p.rest)
		if err != nil {
			return "", fmt.Errorf("bad value at %q: %w", p.rest, err)
		}
		p.rest = p.rest[len(quoted):]
		return strconv.Unquote(quoted)
	case '\'':
		end := strings.IndexByte(p.rest[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("unterminated value at %q", p.rest)
		}
		v := p.rest[1 : 1+end]
		p.rest = p.rest[end+2:]
		return v, nil
	}
	return "", fmt.Errorf("want a quoted value at %q", p.rest)
}
