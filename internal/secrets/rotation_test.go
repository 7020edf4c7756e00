package secrets

import (
	"errors"
	"testing"
)

func TestRotation(t *testing.T) {
	old := mustParse(t, testEntry("k1"))
	stored, err := old.Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	if old.NeedsRotation(stored) {
		t.Error("NeedsRotation is true for a value under the current key")
	}

	rotated := mustParse(t, testEntry("k2")+","+testEntry("k1"))
	got, err := rotated.Decrypt(stored, aad)
	if err != nil || got != vectorPlaintext {
		t.Fatalf("keyring k2,k1 reading a k1 value: %q, %v", got, err)
	}
	if !rotated.NeedsRotation(stored) {
		t.Error("NeedsRotation is false for a k1 value in keyring k2,k1")
	}

	again, err := rotated.Reencrypt(stored, aad)
	if err != nil {
		t.Fatalf("Reencrypt: %v", err)
	}
	if id, ok := KeyIDOf(again); id != "k2" || !ok {
		t.Errorf("KeyIDOf(re-encrypted) = %q, %v; want k2, true", id, ok)
	}
	if rotated.NeedsRotation(again) {
		t.Error("NeedsRotation is true right after Reencrypt")
	}
	if got, err := rotated.Decrypt(again, aad); err != nil || got != vectorPlaintext {
		t.Errorf("Decrypt(re-encrypted) = %q, %v", got, err)
	}
	// Once k1 is dropped, only the re-encrypted value is readable.
	current := mustParse(t, testEntry("k2"))
	if got, err := current.Decrypt(again, aad); err != nil || got != vectorPlaintext {
		t.Errorf("keyring k2 reading the re-encrypted value: %q, %v", got, err)
	}
	if _, err := current.Decrypt(stored, aad); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("keyring k2 reading a k1 value: %v, want ErrUnknownKey", err)
	}

	same, err := rotated.Reencrypt(again, aad)
	if err != nil || same != again {
		t.Errorf("Reencrypt of a current value = %q, %v; want it unchanged", same, err)
	}
	if _, err := rotated.Reencrypt(again, "webhook/8/secretKey"); err == nil {
		t.Error("Reencrypt of a current value with the wrong aad succeeded; it must check the value")
	}
	if _, err := rotated.Reencrypt("legacy plaintext", aad); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("Reencrypt of plaintext: %v, want ErrNotEncrypted", err)
	}
	if got, err := rotated.Reencrypt("", aad); got != "" || err != nil {
		t.Errorf(`Reencrypt("") = %q, %v`, got, err)
	}
}

func TestNeedsRotation(t *testing.T) {
	old := mustParse(t, testEntry("k1"))
	k1Value, _ := old.Encrypt("s", aad)
	k := mustParse(t, testEntry("k2")+","+testEntry("k1"))
	k2Value, _ := k.Encrypt("s", aad)
	tests := []struct {
		stored string
		want   bool
	}{
		{"", false},
		{k2Value, false},
		{k1Value, true},
		{"legacy plaintext secret", true},
		{"enc:v1:k2:", true}, // malformed, even though it names the current key
		{"enc:v9:k2:AAAA", true},
	}
	for _, tt := range tests {
		if got := k.NeedsRotation(tt.stored); got != tt.want {
			t.Errorf("NeedsRotation(%q) = %v, want %v", tt.stored, got, tt.want)
		}
	}
}
