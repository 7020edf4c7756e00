package activities_test

import (
	"encoding/base64"
	"strings"
)

// standardwebhooksKey decodes a whsec_ secret the way the specification says,
// independently of the code under test.
func standardwebhooksKey(secret string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
}
