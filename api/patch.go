package api

import (
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// applyPatch applies an RFC 6902 JSON Patch to doc. "copy" can double the
// document once per operation (a member copied into itself), so what
// copies add together is bounded like a request body.
func applyPatch(patch jsonpatch.Patch, doc []byte) ([]byte, error) {
	opts := jsonpatch.NewApplyOptions()
	opts.AccumulatedCopySizeLimit = MaxBodyBytes
	patched, err := patch.ApplyWithOptions(doc, opts)
	if err != nil {
		return nil, &Error{Status: http.StatusUnprocessableEntity, Code: "invalid_patch", Message: "patch: " + err.Error()}
	}
	return patched, nil
}
