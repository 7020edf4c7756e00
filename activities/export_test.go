package activities

import "context"

// Take is take, for the tests of package activities_test.
func (t *TenantShares) Take(tenant string) (release func(), ok bool) { return t.take(tenant) }

// HoldGate has one request hold the gate of webhookID's slot requests and
// n-1 more wait for it, as requests of this worker asking the database
// would, and returns their exit.
func (s *Sender) HoldGate(webhookID string, n int) func() {
	exit, _ := s.gates.enter(context.Background(), webhookID, -1)
	s.gates.mu.Lock()
	s.gates.gates[webhookID].users += n - 1
	s.gates.mu.Unlock()
	return func() {
		s.gates.mu.Lock()
		s.gates.gates[webhookID].users -= n - 1
		s.gates.mu.Unlock()
		_ = exit()
	}
}
