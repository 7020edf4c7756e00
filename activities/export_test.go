package activities

import "context"

// Take is take, for the tests of package activities_test.
func (t *TenantShares) Take(tenant string) (release func(), ok bool) { return t.take(tenant) }

// HoldGate has requests fill the gate of webhookID's slot requests to the
// database (all gateWidth places) and n-1 more wait for it, as requests of
// this worker asking the database would, and returns their exit.
func (s *Sender) HoldGate(webhookID string, n int) func() {
	exit, _ := s.gates.enter(context.Background(), webhookID, -1)
	s.gates.mu.Lock()
	gt := s.gates.gates[webhookID]
	gt.users += n - 1
	s.gates.mu.Unlock()
	for range gateWidth - 1 {
		gt.lock <- struct{}{}
	}
	return func() {
		for range gateWidth - 1 {
			<-gt.lock
		}
		s.gates.mu.Lock()
		gt.users -= n - 1
		s.gates.mu.Unlock()
		exit()
	}
}
