package secrets

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// printedKeyring has random keys, so no fixed text can match by chance.
func printedKeyring(t *testing.T) (*Keyring, string, [][]byte) {
	t.Helper()
	specs := make([]string, 0, 2)
	keys := make([][]byte, 0, 2)
	for _, id := range []string{"k2", "k1"} {
		spec, err := GenerateSpec(id)
		if err != nil {
			t.Fatal(err)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(spec, id+":"))
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, spec)
		keys = append(keys, key)
	}
	spec := strings.Join(specs, ",")
	return mustParse(t, spec), spec, keys
}

func TestStringShowsIDsOnly(t *testing.T) {
	k, _, _ := printedKeyring(t)
	if got, want := k.String(), "secrets.Keyring{current: k2, keys: [k2 k1]}"; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if got, want := k.GoString(), `secrets.Keyring{current: "k2", keys: ["k2" "k1"]}`; got != want {
		t.Errorf("GoString() = %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%v|%+v|%#v", k, *k, k), "secrets.Keyring{current: k2, keys: [k2 k1]}|secrets.Keyring{current: k2, keys: [k2 k1]}|"+k.GoString(); got != want {
		t.Errorf("Sprintf = %s\nwant      %s", got, want)
	}
	if got, want := fmt.Sprintf("[%-50s]", k), "["+k.String()+strings.Repeat(" ", 50-len(k.String()))+"]"; got != want {
		t.Errorf("width and flags are ignored: %s", got)
	}
}

// Whatever the verb, and however a Keyring is held, fmt prints no key.
func TestFormatNeverPrintsKeys(t *testing.T) {
	k, spec, keys := printedKeyring(t)
	type exported struct{ Keys Keyring }
	type hidden struct{ keys Keyring } // fmt cannot call methods through unexported fields
	type hiddenPtr struct{ keys *Keyring }
	values := map[string]any{
		"pointer":                  k,
		"value":                    *k,
		"exported field":           exported{*k},
		"unexported field":         hidden{*k},
		"unexported pointer field": hiddenPtr{k},
		"slice":                    []Keyring{*k},
		"map":                      map[string]*Keyring{"k": k},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%p"} {
			out := fmt.Sprintf(verb, v)
			assertNoKey(t, name+" with "+verb, out, keys...)
			if strings.Contains(out, spec) {
				t.Errorf("%s with %s prints the spec", name, verb)
			}
		}
	}
	assertNoKey(t, "Sprint", fmt.Sprint(k, *k), keys...)
	assertNoKey(t, "Sprintln", fmt.Sprintln(k, *k), keys...)
}

func TestSlogShowsIDsOnly(t *testing.T) {
	k, _, keys := printedKeyring(t)
	var text, js bytes.Buffer
	for _, logger := range []*slog.Logger{
		slog.New(slog.NewTextHandler(&text, nil)),
		slog.New(slog.NewJSONHandler(&js, nil)),
	} {
		logger.Info("keys loaded", "keyring", k, "value", *k, slog.Any("any", k))
	}
	if want := "keyring.current=k2 keyring.keys=\"[k2 k1]\""; !strings.Contains(text.String(), want) {
		t.Errorf("text log lacks %s:\n%s", want, text.String())
	}
	if want := `"keyring":{"current":"k2","keys":["k2","k1"]}`; !strings.Contains(js.String(), want) {
		t.Errorf("JSON log lacks %s:\n%s", want, js.String())
	}
	assertNoKey(t, "text log", text.String(), keys...)
	assertNoKey(t, "JSON log", js.String(), keys...)
}
