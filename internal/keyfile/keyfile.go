// Package keyfile keeps a generated secret in a file, for `webhookd dev`:
// zero setup needs keys nobody configured, and they must survive restarts
// (tokens and encrypted values made with them stay valid).
package keyfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate returns the secret stored at path, or stores and returns a new
// one from generate the first time. A new file gets mode 0600 (its parent
// directory 0700 if created) and appears complete or not at all; an existing
// file others can read is narrowed to 0600 rather than refused (on a
// developer machine that is the fix anyone would apply).
func LoadOrCreate(path string, generate func() (string, error)) (secret string, created bool, err error) {
	secret, err = readKeyFile(path)
	if err == nil {
		return secret, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if secret, err = generate(); err != nil {
		return "", false, err
	}
	won, err := createKeyFile(path, secret)
	if err != nil {
		return "", false, err
	}
	if !won {
		// Another process created the file first; use its key, since that
		// is the one it may already have used.
		secret, err = readKeyFile(path)
		return secret, false, err
	}
	return secret, true, nil
}

// maxKeyFileSize is far more than any real keyring spec needs; it stops a
// wrong path (a log, a disk image) from being read whole.
const maxKeyFileSize = 64 << 10

// readKeyFile works on one open file so that the mode it checks and fixes
// belongs to the file whose content it returns.
func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("read key file: %s is not a regular file", path)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return "", fmt.Errorf("restrict key file %s to its owner: %w", path, err)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return "", fmt.Errorf("read key file: %s is larger than %d bytes", path, maxKeyFileSize)
	}
	spec := strings.TrimSpace(string(data))
	if spec == "" {
		return "", fmt.Errorf("read key file: %s is empty", path)
	}
	return spec, nil
}

// createKeyFile writes spec to a temporary file beside path and links it
// into place, so readers never see a partial file. A link, unlike a
// rename, fails if path exists: two processes starting at once must not
// each encrypt under a key the other overwrote. won is false when path
// already existed.
func createKeyFile(path, spec string) (won bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create key file directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(spec + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return false, fmt.Errorf("write key file: %w", err)
	}
	err = os.Link(tmp.Name(), path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	}
	// Some file systems have no hard links; a rename is still atomic, only
	// not exclusive.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("install key file: %w", err)
	}
	return true, nil
}
