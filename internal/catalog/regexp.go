package catalog

import (
	"fmt"
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// MaxPatternBytes bounds a regular expression: a schema's pattern and
// patternProperties, and, since formats are asserted, every string of the
// data that a "format": "regex" checks, compiled at each event. Go's
// regexp matches in linear time but compiles in time and memory that grow
// faster than the pattern: one string of a 1 MiB event, `a*a*a*...`, took
// 4 s and 400 MB to check. Short patterns keep a whole event's worth of
// them to a fraction of a second.
const MaxPatternBytes = 4096

func boundedRegexp(s string) (jsonschema.Regexp, error) {
	if len(s) > MaxPatternBytes {
		return nil, fmt.Errorf("a regular expression of %d bytes, more than %d", len(s), MaxPatternBytes)
	}
	return regexp.Compile(s)
}
