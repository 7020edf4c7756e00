package rig

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Recorder is a receiver whose answers a test scripts, on a free port.
type Recorder struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Recorded
	answer   func(n int) int // status for the n-th request (1-based)
	hits     chan struct{}
}

// Recorded is one request a Recorder got.
type Recorded struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// NewRecorder starts a receiver answering the n-th request (1-based) with
// the status answer(n).
func NewRecorder(tb testing.TB, answer func(n int) int) *Recorder {
	r := &Recorder{answer: answer, hits: make(chan struct{}, 10000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, Recorded{Header: req.Header.Clone(), Body: b, At: time.Now()})
		n := len(r.requests)
		r.mu.Unlock()
		w.WriteHeader(r.answer(n))
		r.hits <- struct{}{}
	}))
	tb.Cleanup(r.Close)
	return r
}

// Always answers every request with code.
func Always(code int) func(int) int { return func(int) int { return code } }

// Count is how many requests arrived.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

// Get is the i-th request (0-based).
func (r *Recorder) Get(i int) Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[i]
}

// WaitHits waits until n requests arrived.
func (r *Recorder) WaitHits(tb testing.TB, n int, within time.Duration) {
	tb.Helper()
	deadline := time.After(within)
	for r.Count() < n {
		select {
		case <-r.hits:
		case <-deadline:
			tb.Fatalf("receiver got %d requests in %v, want %d", r.Count(), within, n)
		}
	}
}
