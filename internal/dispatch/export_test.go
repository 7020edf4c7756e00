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
