package activities

import "context"

// Take is take, for the tests of package activities_test.
func (t *TenantShares) Take(tenant string) (release func(), ok bool) { return t.take(tenant) }

// HoldGate takes the gate of webhookID's slot requests, as a request of
// this worker asking the database would, and returns its exit.
func (s *Sender) HoldGate(webhookID string) func() {
	exit, _ := s.gates.enter(context.Background(), webhookID, false)
	return exit
}
