package catalog

// MaxValidationWork bounds the subschema applications one validation may
// make: values in the data times the most subschemas the schema may apply
// to one value. MaxApplications bounds the second factor only; a 1 MiB
// event holds up to half a million values, and an array of 150,000
// strings checked against an anyOf of 250 patterns took 53 s and 13 GB of
// allocation (every failing branch is an error object). At this bound the
// worst case is well under a second; a schema applying 3 subschemas per
// value still checks 160,000 values.
const MaxValidationWork = 500_000

// withinWork reports whether validating v against a schema applying up
// to perValue subschemas per value stays within MaxValidationWork, and
// how many values it may hold (the count stops once that is passed).
func withinWork(v any, perValue int) (int, bool) {
	limit := MaxValidationWork / max(perValue, 1)
	n := 0
	stack := []any{v}
	for len(stack) > 0 {
		if n++; n > limit {
			return limit, false
		}
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch x := x.(type) {
		case []any:
			stack = append(stack, x...)
		case map[string]any:
			for _, e := range x {
				stack = append(stack, e)
			}
		}
	}
	return limit, true
}
