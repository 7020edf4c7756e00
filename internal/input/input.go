// Package input is the one check every byte a client sends passes before it
// reaches the database, Temporal or a log: path parameters, query
// parameters and headers are short, printable UTF-8 text (Text), and JSON
// bodies hold only what PostgreSQL's jsonb and text columns and SQLite
// both store (JSON). A refusal names the field, so the API answers a 4xx
// where the database would have failed with a 500.
package input

import (
	"fmt"
	"unicode/utf8"
)

// Error says which field holds what cannot be stored. Path is the field's
// JSON path in a body (data.items[2].name), or a parameter's or header's
// name.
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Text checks one parameter or header value: valid UTF-8, no control
// characters (NUL, line breaks, DEL, the C1 set) nor invisible format
// characters (as Fields), at most max bytes.
func Text(name, v string, max int) error {
	if len(v) > max {
		return &Error{Path: name, Msg: fmt.Sprintf("at most %d bytes", max)}
	}
	for i, r := range v {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(v[i:]); size == 1 {
				return &Error{Path: name, Msg: fmt.Sprintf("not valid UTF-8 (byte 0x%02x at offset %d)", v[i], i)}
			}
		}
		if what := refused(r, false); what != "" {
			return &Error{Path: name, Msg: fmt.Sprintf("%s %U at offset %d is not allowed", what, r, i)}
		}
	}
	return nil
}
