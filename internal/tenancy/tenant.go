// Package tenancy holds what a tenant is (its id) and the signed tokens that
// confine an API caller to one tenant.
package tenancy

import "regexp"

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// IDRule says what ValidID accepts, for error messages.
const IDRule = "1-128 characters of A-Z a-z 0-9 . _ : -, starting with a letter or digit"

// ValidID reports whether id can name a tenant.
func ValidID(id string) bool { return idPattern.MatchString(id) }
