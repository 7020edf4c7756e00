package input

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Fields checks every string in a decoded request body v (a pointer to
// the struct the body was decoded into), so that text fields hold printable
// text: a name, type, id, URL or header value (the default) is one line,
// with no control character (NUL, tab, line breaks, DEL, the C1 set), no
// line or paragraph separator and no invisible format character (bidi
// overrides that make text read other than it runs, zero-width spaces; the
// zero-width joiners of emoji stay allowed). A field tagged
// `input:"prose"` (descriptions, templates, filter expressions) may hold
// tabs, line breaks and format characters too, but no other control
// character and no bidi override. A field tagged
// `input:"-"` is not looked at. JSON kept as it came (json.RawMessage) is
// JSON's check, not this one.
//
// Every string is checked unless a tag says otherwise, so a field added
// later is one line until someone decides it is prose. The first problem
// is an *Error naming the field's JSON path.
func Fields(v any) error {
	return walk(reflect.ValueOf(v), "", false)
}

func walk(v reflect.Value, path string, prose bool) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walk(v.Elem(), path, prose)
	case reflect.String:
		return printable(path, v.String(), prose)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			tag := f.Tag.Get("input")
			if !f.IsExported() || name == "-" || tag == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := walk(v.Field(i), join(path, name), prose || tag == "prose"); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw JSON or bytes: not text
		}
		for i := range v.Len() {
			if err := walk(v.Index(i), path+"["+strconv.Itoa(i)+"]", prose); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			if k.Kind() == reflect.String {
				if err := printable(path, k.String(), false); err != nil {
					err.(*Error).Msg = "a key: " + err.(*Error).Msg
					return err
				}
			}
			if err := walk(v.MapIndex(k), join(path, fmt.Sprint(k)), prose); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// printable checks one string; Text's bytes (UTF-8) were checked when the
// body was (JSON).
func printable(path, s string, prose bool) error {
	for i, r := range s {
		if prose && (r == '\t' || r == '\n' || r == '\r') {
			continue
		}
		if err := refused(r, prose); err != "" {
			if path == "" {
				path = "request body"
			}
			return &Error{Path: path, Msg: fmt.Sprintf("%s %U at offset %d is not allowed", err, r, i)}
		}
	}
	return nil
}

// refused names what r is when text may not hold it, or is "".
func refused(r rune, prose bool) string {
	switch {
	case unicode.IsControl(r):
		return "control character"
	case !prose && (r == '\u2028' || r == '\u2029'):
		return "line separator"
	case (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
		return "bidirectional override" // text that reads other than it runs
	case prose || r == '\u200c' || r == '\u200d':
		// Prose keeps soft hyphens and marks; joiners sit inside emoji
		// and some scripts' words.
		return ""
	case unicode.Is(unicode.Cf, r):
		return "invisible format character"
	}
	return ""
}
