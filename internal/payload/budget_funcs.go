package payload

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"
)

// userFuncs are the functions a template may call: webhookd's json, and
// text/template's builtins that build strings, replaced by versions that
// pay for what they make. The builtins' own versions build their result
// whole before anyone can look at its size ({{printf "%0999999d" 0}} once
// per argument, as often as the format string says).
func (b *budget) userFuncs() template.FuncMap {
	return template.FuncMap{
		"json":     b.json,
		"print":    b.print,
		"println":  b.println,
		"printf":   b.printf,
		"html":     b.escaper(template.HTMLEscapeString),
		"js":       b.escaper(template.JSEscapeString),
		"urlquery": b.escaper(func(s string) string { return template.URLQueryEscaper(s) }),
	}
}

// The names instrument calls. They are added after parsing, so a template
// that names them does not parse ("function not defined").
const (
	fnEnter     = "budgetEnter"
	fnLeave     = "budgetLeave"
	fnIteration = "budgetIteration"
	fnRange     = "budgetRange"
)

func (b *budget) internalFuncs() template.FuncMap {
	return template.FuncMap{
		fnEnter:     b.enter,
		fnLeave:     b.leave,
		fnIteration: b.iteration,
		fnRange:     b.rangeOver,
	}
}

// json quotes and escapes a value instead of pasting it into the JSON text.
func (b *budget) json(v any) (string, error) {
	if err := b.checkTime(); err != nil {
		return "", err
	}
	out, err := marshal(v)
	if err != nil {
		return "", fmt.Errorf("json: %w", err)
	}
	if err := b.spend(len(out)); err != nil {
		return "", err
	}
	return string(out), nil
}

// print is fmt.Sprint, one operand at a time: spaces between operands
// when neither is a string.
func (b *budget) print(args ...any) (string, error) {
	var sb strings.Builder
	prevString := false
	for i, a := range args {
		isString := a != nil && reflect.TypeOf(a).Kind() == reflect.String
		if i > 0 && !isString && !prevString {
			sb.WriteByte(' ')
		}
		if err := b.add(&sb, fmt.Sprint(a)); err != nil {
			return "", err
		}
		prevString = isString
	}
	return sb.String(), nil
}

// println is fmt.Sprintln, one operand at a time.
func (b *budget) println(args ...any) (string, error) {
	var sb strings.Builder
	for i, a := range args {
		if i > 0 {
			sb.WriteByte(' ')
		}
		if err := b.add(&sb, fmt.Sprint(a)); err != nil {
			return "", err
		}
	}
	sb.WriteByte('\n')
	return sb.String(), nil
}

// printf is fmt.Sprintf with every operand formatted on its own and paid
// for before it joins the result, widths included. A width taken from an
// operand (%*d) is refused: fmt reads it from an int, not from a wrapper.
func (b *budget) printf(format string, args ...any) (string, error) {
	if hasStarWidth(format) {
		return "", errors.New("printf: * widths and precisions are not supported; write the number in the format")
	}
	wrapped := make([]any, len(args))
	for i, a := range args {
		wrapped[i] = paidOperand{v: a, b: b}
	}
	before := b.bytes
	out := fmt.Sprintf(format, wrapped...)
	if b.stopped != nil {
		return "", b.stopped
	}
	// The operands are paid for; the format's own text is not yet.
	if err := b.spend(max(len(out)-(b.bytes-before), 0)); err != nil {
		return "", err
	}
	return out, nil
}

// add pays for s and appends it.
func (b *budget) add(sb *strings.Builder, s string) error {
	if err := b.spend(len(s) + 1); err != nil {
		return err
	}
	sb.WriteString(s)
	return nil
}

// escaper makes html, js and urlquery: their operands printed as print
// does, then escaped, each paid for.
func (b *budget) escaper(escape func(string) string) func(args ...any) (string, error) {
	return func(args ...any) (string, error) {
		s, err := b.print(args...)
		if err != nil {
			return "", err
		}
		out := escape(s)
		if err := b.spend(len(out)); err != nil {
			return "", err
		}
		return out, nil
	}
}

// paidOperand formats one printf operand, paying for it first.
type paidOperand struct {
	v any
	b *budget
}

func (p paidOperand) Format(f fmt.State, verb rune) {
	if p.b.stopped != nil {
		return
	}
	s := fmt.Sprintf(fmt.FormatString(f, verb), p.v)
	if p.b.spend(len(s)) != nil {
		return // recorded in p.b.stopped
	}
	_, _ = io.WriteString(f, s)
}

// hasStarWidth reports whether a verb in format takes its width or
// precision from an operand.
func hasStarWidth(format string) bool {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[i]) >= 0; i++ {
			if format[i] == '*' {
				return true
			}
		}
	}
	return false
}
