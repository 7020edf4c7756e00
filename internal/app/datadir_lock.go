package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir makes sure one `webhookd dev` at a time uses a data dir: two
// would share the SQLite files and the embedded Temporal server's state, and
// each start clears the membership the other's server relies on. The lock
// is the kernel's (flock), so it goes away with the process, however it ends.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	path := filepath.Join(dir, ".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("DATA_DIR %s is in use by another webhookd dev; stop it, or set another DATA_DIR", dir)
		}
		return nil, fmt.Errorf("DATA_DIR: lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil
}
