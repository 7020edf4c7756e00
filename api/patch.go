package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// patchResource applies the RFC 6902 JSON Patch in body to current (the
// resource as a read shows it) and decodes the result as a PUT body.
func patchResource[T any](body []byte, current T) (T, error) {
	var in T
	patch, err := jsonpatch.DecodePatch(body)
	if err != nil {
		return in, badRequest("patch: not a JSON Patch document: %v", err)
	}
	doc, err := json.Marshal(current)
	if err != nil {
		return in, err
	}
	patched, err := applyPatch(patch, doc)
	if err != nil {
		return in, err
	}
	// Decode first: the order in which a return's operands are read is
	// unspecified.
	err = decodeBytes(patched, &in)
	return in, err
}

// unchanged refuses a patch that changed a read-only field, naming the
// first. Values compare as JSON: what the client sees is what may not
// change (a pointer to an equal value is no change).
func unchanged(readOnly []field) error {
	for _, f := range readOnly {
		x, _ := json.Marshal(f.before)
		y, _ := json.Marshal(f.after)
		if !bytes.Equal(x, y) {
			return invalid(f.name, "read-only; it cannot be patched")
		}
	}
	return nil
}

// field is one read-only field of a resource: its JSON path and its value
// before and after a patch.
type field struct {
	name          string
	before, after any
}

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
