package activities

import (
	"context"
	"testing"
	"time"
)

// TestGateLetsItsWidthThrough: gateWidth requests of one webhook go to the
// database at once; the next waits for one of them to leave, and one
// beyond the queue bound is refused at once.
func TestGateLetsItsWidthThrough(t *testing.T) {
	var g webhookGates
	ctx := t.Context()
	var exits []func()
	for i := range gateWidth {
		exit, ok := g.enter(ctx, "w", 10)
		if !ok {
			t.Fatalf("request %d of %d refused", i+1, gateWidth)
		}
		exits = append(exits, exit)
	}
	waited := make(chan bool)
	go func() {
		exit, ok := g.enter(ctx, "w", 10)
		if ok {
			exit()
		}
		waited <- ok
	}()
	select {
	case <-waited:
		t.Fatalf("request %d went through a full gate", gateWidth+1)
	case <-time.After(50 * time.Millisecond):
	}
	exits[0]()
	if !<-waited {
		t.Fatal("the waiting request was refused when a place came free")
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, ok := g.enter(short, "w", gateWidth-2); ok {
		t.Fatal("a request beyond the queue bound went through")
	}
	for _, exit := range exits[1:] {
		exit()
	}
	if _, ok := g.gates["w"]; ok {
		t.Fatal("the gate outlived its last request")
	}
}
