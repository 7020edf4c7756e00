package payload

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/template"
)

// userFuncs are the functions a template may call: webhookd's json,
// text/template's builtins that build strings, replaced by versions that
// pay for what they make, and call, refused. The builtins' own versions
// build their result whole before anyone can look at its size
// ({{printf "%0999999d" 0}} once per argument, as often as the format
// string says).
func (b *budget) userFuncs() template.FuncMap {
	return template.FuncMap{
		"json":     b.json,
		"print":    b.print,
		"println":  b.println,
		"printf":   b.printf,
		"html":     b.escaper(template.HTMLEscapeString),
		"js":       b.escaper(template.JSEscapeString),
		"urlquery": b.escaper(func(s string) string { return template.URLQueryEscaper(s) }),
		// call runs a function value with no budget of its own; template
		// data holds none, and none may slip in later.
		"call": func(any, ...any) (string, error) { return "", errors.New("call is not available in payload templates") },
	}
}

// boundedBuiltins are text/template's builtins left as they are: each
// does work bounded by its operands, without building a string
// (TestEveryTemplateFuncIsBounded checks that every builtin is here or
// replaced in userFuncs).
var boundedBuiltins = []string{"and", "or", "not", "len", "index", "slice", "eq", "ne", "lt", "le", "gt", "ge"}

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
// for before it joins the result. fmt pads a slice or map element by
// element and builds the whole text before anyone sees its size, so a
// width or precision is bounded up front (checkFormat) and again where fmt
// applies it (paidOperand.Format): at most MaxFormatWidth, and only on one
// string, number or boolean.
func (b *budget) printf(format string, args ...any) (string, error) {
	if err := checkFormat(format); err != nil {
		return "", b.fail(err)
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
	w, hasW := f.Width()
	prec, hasP := f.Precision()
	switch {
	case (hasW && w > MaxFormatWidth) || (hasP && prec > MaxFormatWidth):
		_ = p.b.over("printf: widths and precisions may be at most %d", MaxFormatWidth)
		return
	case (hasW || hasP) && !scalar(p.v):
		_ = p.b.fail(fmt.Errorf("%w: printf: a width or precision applies to one string, number or boolean, not to a %s",
			ErrRenderBudget, kindOf(p.v)))
		return
	}
	s := fmt.Sprintf(fmt.FormatString(f, verb), p.v)
	if p.b.spend(len(s)) != nil {
		return // recorded in p.b.stopped
	}
	_, _ = io.WriteString(f, s)
}

// scalar reports whether fmt formats v as one value, so a width pads it
// once: nil, a boolean, number or string, or a Stringer (a timestamp).
func scalar(v any) bool {
	if v == nil {
		return true
	}
	if _, ok := v.(fmt.Stringer); ok {
		return true
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}

func kindOf(v any) string { return reflect.TypeOf(v).Kind().String() }

// checkFormat refuses a format whose verbs take a width or precision from
// an operand (%*d: fmt reads it from an int, not from a wrapper) or write
// one over MaxFormatWidth, and %p: fmt applies it without calling the
// operand's Format, and on a wrapper it prints the wrapped value element
// by element with the width, unchecked and unpaid. Argument indexes ([2])
// are not widths.
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.[]*", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c == '*':
				return errors.New("printf: * widths and precisions are not supported; write the number in the format")
			case c == '[':
				for i < len(format) && format[i] != ']' {
					i++
				}
			case c >= '1' && c <= '9':
				n := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					if n = n*10 + int(format[i]-'0'); n > MaxFormatWidth {
						return fmt.Errorf("%w: printf: widths and precisions may be at most %d", ErrRenderBudget, MaxFormatWidth)
					}
				}
				i--
			}
		}
		if i < len(format) && format[i] == 'p' {
			return fmt.Errorf("%w: printf: %%%c is not available in payload templates", ErrRenderBudget, format[i])
		}
	}
	return nil
}
