package dispatch

// Woken reports whether d was asked to wake its starter since the last
// look, and clears the request.
func Woken(d *Dispatcher) bool {
	select {
	case <-d.wakeup.wake:
		return true
	default:
		return false
	}
}

// WakesInFlight is how many wake-ups of waiters are being signalled.
func (d *Dispatcher) WakesInFlight() int { return len(d.waiters.inFlight) }

// WakeFailuresNotLogged is how many failed wake-ups went unlogged since
// the last warning.
func (d *Dispatcher) WakeFailuresNotLogged() int {
	d.waiters.mu.Lock()
	defer d.waiters.mu.Unlock()
	return d.waiters.quiet
}

// WindowBounds is the least and the most the starter's window of ready
// starts may be, and the window that bounds its waiters.
func (s *Starter) WindowBounds() (least, most, waiters int) {
	return s.ready.floor, s.ready.ceiling, s.window
}
