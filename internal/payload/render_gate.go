package payload

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// What all renders of Custom templates in one process may spend together,
// beyond each render's own budget (budget.go):
//
//   - at most GOMAXPROCS renders run at once in the process, and at most
//     one per tenant, so one tenant's templates cannot take every CPU nor
//     delay another tenant's renders by more than one slot's turn;
//   - the renders of one request share MaxRequestRenderTime (a save renders
//     the template twice, a test of an unsaved webhook three times), when
//     the caller set it with WithRequestAllowance (the API does, for every
//     request; ValidateTemplate sets one if none is there).
//
// A render that cannot get a slot before its context ends fails with
// ErrRenderBusy.

// MaxRequestRenderTime is what every render of one API request may spend
// in total.
const MaxRequestRenderTime = MaxRenderTime

// ErrRenderBusy is wrapped when a render did not get a slot in time.
var ErrRenderBusy = errors.New("too many template renders at once; retry")

// gate is the process's render slots. A package variable: the bound is
// per process, whatever uses the package (api, worker, dev).
var gate = newRenderGate(runtime.GOMAXPROCS(0))

type renderGate struct {
	all     chan struct{}
	mu      sync.Mutex
	tenants map[string]*tenantSlot
}

type tenantSlot struct {
	ch    chan struct{}
	users int // holders and waiters; the slot is dropped at 0
}

func newRenderGate(n int) *renderGate {
	return &renderGate{all: make(chan struct{}, max(n, 1)), tenants: map[string]*tenantSlot{}}
}

// acquire waits for the tenant's slot, then for one of the process's, until
// ctx ends. release gives both back.
func (g *renderGate) acquire(ctx context.Context, tenant string) (release func(), err error) {
	g.mu.Lock()
	s := g.tenants[tenant]
	if s == nil {
		s = &tenantSlot{ch: make(chan struct{}, 1)}
		g.tenants[tenant] = s
	}
	s.users++
	g.mu.Unlock()
	done := func() {
		g.mu.Lock()
		if s.users--; s.users == 0 {
			delete(g.tenants, tenant)
		}
		g.mu.Unlock()
	}
	select {
	case s.ch <- struct{}{}:
	case <-ctx.Done():
		done()
		return nil, fmt.Errorf("%w: %w", ErrRenderBusy, ctx.Err())
	}
	select {
	case g.all <- struct{}{}:
	case <-ctx.Done():
		<-s.ch
		done()
		return nil, fmt.Errorf("%w: %w", ErrRenderBusy, ctx.Err())
	}
	return func() {
		<-g.all
		<-s.ch
		done()
	}, nil
}

// allowance is what is left of one request's render time.
type allowance struct {
	mu   sync.Mutex
	left time.Duration
}

type allowanceKey struct{}

// WithRequestAllowance returns ctx carrying a total of d for every render
// made with it (or with a context derived from it).
func WithRequestAllowance(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, allowanceKey{}, &allowance{left: d})
}

func allowanceOf(ctx context.Context) *allowance {
	a, _ := ctx.Value(allowanceKey{}).(*allowance)
	return a
}

// remaining is what is left, or MaxRenderTime without an allowance.
func (a *allowance) remaining() time.Duration {
	if a == nil {
		return MaxRenderTime
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.left
}

func (a *allowance) charge(d time.Duration) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.left -= d
	a.mu.Unlock()
}
