package secrets

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// String shows the key ids only, e.g.
// secrets.Keyring{current: k2, keys: [k2 k1]}.
func (k Keyring) String() string {
	return "secrets.Keyring{current: " + k.CurrentID() + ", keys: [" + strings.Join(k.ids, " ") + "]}"
}

// GoString is String with the ids quoted, for %#v.
func (k Keyring) GoString() string {
	quoted := make([]string, len(k.ids))
	for i, id := range k.ids {
		quoted[i] = strconv.Quote(id)
	}
	return "secrets.Keyring{current: " + strconv.Quote(k.CurrentID()) + ", keys: [" + strings.Join(quoted, " ") + "]}"
}

// Format routes every verb through String (or GoString for %#v). Without
// it, verbs that fmt does not send to String, such as %d, would print the
// fields by reflection.
func (k Keyring) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, k.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), k.String())
}

// LogValue logs the key ids only.
func (k Keyring) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("current", k.CurrentID()),
		slog.Any("keys", k.IDs()),
	)
}
