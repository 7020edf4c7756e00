package payload

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"
)

// The render budget: what one render of a Custom template may spend. It is
// enforced while the template runs, whatever its syntax: every loop
// iteration and every {{template}} call is a step, functions that build
// strings pay for the bytes they make, the output is capped, and a clock
// stops the rest (see instrument).
const (
	// MaxRenderSteps bounds loop iterations plus {{template}} calls.
	MaxRenderSteps = 100_000
	// MaxTemplateDepth bounds {{template}} calls inside {{template}} calls.
	MaxTemplateDepth = 100
	// MaxFuncBytes bounds the bytes json, print, printf, println, html, js
	// and urlquery make in one render, output or not.
	MaxFuncBytes = 8 << 20
	// MaxCustomBody caps a template's output.
	MaxCustomBody = 1 << 20
	// MaxRenderTime bounds one render; at delivery the webhook's timeout
	// may end it sooner.
	MaxRenderTime = time.Second
	// MaxTemplateSize bounds the template's text.
	MaxTemplateSize = 64 << 10
	// MaxFormatWidth bounds a printf width or precision (%-20s, %.2f).
	MaxFormatWidth = 256
)

// ErrRenderBudget is wrapped by every error that stops a render for
// spending more than its budget.
var ErrRenderBudget = errors.New("render budget exceeded")

// budget is one render's account. The template's functions share it; a
// render runs on one goroutine, so it needs no lock.
type budget struct {
	ctx       context.Context
	deadline  time.Time
	timeLimit time.Duration // MaxRenderTime, or less when ctx ends sooner
	steps     int
	depth     int
	bytes     int
	// stopped is why the render stopped: the first error a budget check
	// returned (or, inside printf, could not return yet).
	stopped error
}

// newBudget starts a render's account at now: MaxRenderTime, less when ctx
// ends sooner or its request has less left (limit).
func newBudget(ctx context.Context, now time.Time, limit time.Duration) *budget {
	limit = max(min(limit, MaxRenderTime), 0)
	b := &budget{ctx: ctx, deadline: now.Add(limit), timeLimit: limit}
	if d, ok := ctx.Deadline(); ok && d.Before(b.deadline) {
		b.deadline, b.timeLimit = d, max(d.Sub(now), 0)
	}
	return b
}

// ErrRenderTime is wrapped (beside ErrRenderBudget) when a render stopped
// for time: its own, its request's, or its caller's. Unlike the other
// overruns it may pass on a quieter machine, so a delivery retries it.
var ErrRenderTime = errors.New("render time")

// timeOverrun marks an overrun as ErrRenderTime without changing its text.
type timeOverrun struct{ error }

func (timeOverrun) Is(target error) bool { return target == ErrRenderTime }

func (e timeOverrun) Unwrap() error { return e.error }

// step charges one step and checks the clock. Every loop iteration and
// template call goes through it, so no loop runs long between checks.
func (b *budget) step() error {
	b.steps++
	if b.steps > MaxRenderSteps {
		return b.over("a render may run at most %d loop iterations and template calls", MaxRenderSteps)
	}
	return b.checkTime()
}

// checkTime stops a render that ran out of time (its own, or what is left
// of the webhook's timeout at delivery) or whose caller gave up.
func (b *budget) checkTime() error {
	if !time.Now().Before(b.deadline) {
		return b.fail(timeOverrun{fmt.Errorf("%w: rendering took longer than %s", ErrRenderBudget, b.timeLimit.Round(10*time.Millisecond))})
	}
	if err := b.ctx.Err(); err != nil {
		return b.fail(timeOverrun{fmt.Errorf("render stopped: %w", err)})
	}
	return nil
}

// spend charges n bytes made by a function.
func (b *budget) spend(n int) error {
	b.bytes += n
	if b.bytes > MaxFuncBytes {
		return b.over("json, print, printf, println, html, js and urlquery may make at most %d bytes in a render", MaxFuncBytes)
	}
	return b.checkTime()
}

// enter and leave bracket every template's body: a call charges a step,
// and calls may nest only MaxTemplateDepth deep. A render stops at its
// first error, so every enter that returns nil is matched by a leave.
func (b *budget) enter() (string, error) {
	b.depth++
	if b.depth > MaxTemplateDepth+1 { // +1: the main template
		return "", b.over("{{template}} calls may nest at most %d deep", MaxTemplateDepth)
	}
	return "", b.step()
}

func (b *budget) leave() string {
	b.depth--
	return ""
}

// iteration charges one loop iteration.
func (b *budget) iteration() (string, error) {
	return "", b.step()
}

// rangeOver sees a range's value before the loop starts and passes it on
// unchanged. A length the remaining steps cannot pay for stops the render
// at once rather than after MaxRenderSteps iterations.
func (b *budget) rangeOver(v any) (any, error) {
	rv := reflect.ValueOf(v)
	var n uint64
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n = uint64(max(rv.Int(), 0))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n = rv.Uint()
	case reflect.Array, reflect.Slice, reflect.Map:
		n = uint64(rv.Len())
	case reflect.Chan, reflect.Func:
		// Template data holds neither, and their length is unknown up front.
		return nil, fmt.Errorf("range over a %s is not allowed", rv.Kind())
	}
	if n > uint64(MaxRenderSteps-b.steps) {
		return nil, b.over("a range over %d items; a render may run at most %d loop iterations and template calls (%d left)",
			n, MaxRenderSteps, MaxRenderSteps-b.steps)
	}
	return v, nil
}

// over records and returns an overrun of the budget.
func (b *budget) over(format string, args ...any) error {
	return b.fail(fmt.Errorf("%w: %s", ErrRenderBudget, fmt.Sprintf(format, args...)))
}

// fail records why the render stopped, first reason first, and returns it.
func (b *budget) fail(err error) error {
	if b.stopped == nil {
		b.stopped = err
	}
	return err
}
