package secrets

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// The vector below was computed outside Go, so a change to the stored
// format (which would make every existing row unreadable) cannot hide
// behind a matching change in the test:
//
//	python3 -c 'import base64; from cryptography.hazmat.primitives.ciphers.aead import AESGCM
//	  k=bytes(range(32)); n=bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaab")
//	  c=AESGCM(k).encrypt(n,b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",b"enc:v1:k1:webhook/42/secretKey")
//	  print("enc:v1:k1:"+base64.urlsafe_b64encode(n+c).decode().rstrip("="))'
const (
	vectorSpec      = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	vectorAAD       = "webhook/42/secretKey"
	vectorPlaintext = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorStored    = "enc:v1:k1:oKGio6SlpqeoqaqrkXAPSCaUT9kpNL6hPz2LhwHeDWf44hIopEdq1iXiGjOeFwue_FVd9XBSxrqAwKL0oHFAxsAS"
)

const aad = "webhook/7/secretKey"

func TestDecryptFixedVector(t *testing.T) {
	k := mustParse(t, vectorSpec)
	got, err := k.Decrypt(vectorStored, vectorAAD)
	if err != nil {
		t.Fatalf("Decrypt(vector): %v", err)
	}
	if got != vectorPlaintext {
		t.Errorf("Decrypt(vector) = %q, want %q", got, vectorPlaintext)
	}
}

func TestRoundTrip(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	for _, plaintext := range []string{
		"x",
		vectorPlaintext,
		"Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo",
		"sécret ✓ with\nnewline, comma, colon: and \x00 NUL",
		strings.Repeat("long ", 10000),
	} {
		stored, err := k.Encrypt(plaintext, aad)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if !strings.HasPrefix(stored, "enc:v1:k1:") {
			t.Errorf("stored value %q lacks the enc:v1:k1: prefix", stored)
		}
		if len(plaintext) >= 8 && strings.Contains(stored, plaintext) {
			t.Errorf("stored value contains the plaintext")
		}
		for _, c := range []byte(stored) {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("stored value has non-printable or non-ASCII byte %#x", c)
			}
		}
		got, err := k.Decrypt(stored, aad)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if got != plaintext {
			t.Errorf("round trip of %.40q gave %.40q", plaintext, got)
		}
	}
}

func TestEmptyStaysEmpty(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	stored, err := k.Encrypt("", aad)
	if stored != "" || err != nil {
		t.Errorf(`Encrypt("") = %q, %v; want "", nil`, stored, err)
	}
	plaintext, err := k.Decrypt("", aad)
	if plaintext != "" || err != nil {
		t.Errorf(`Decrypt("") = %q, %v; want "", nil`, plaintext, err)
	}
	if k.NeedsRotation("") {
		t.Error(`NeedsRotation("") = true; an empty value has nothing to re-encrypt`)
	}
	if IsEncrypted("") {
		t.Error(`IsEncrypted("") = true`)
	}
}

func TestEncryptUsesFreshNonce(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 100 {
		stored, err := k.Encrypt(vectorPlaintext, aad)
		if err != nil {
			t.Fatal(err)
		}
		if seen[stored] {
			t.Fatalf("Encrypt returned %q twice for the same plaintext", stored)
		}
		seen[stored] = true
		_, sealed, err := parseEnvelope(stored)
		if err != nil {
			t.Fatal(err)
		}
		nonce := string(sealed[:12])
		if nonces[nonce] {
			t.Fatalf("nonce %x reused", nonce)
		}
		nonces[nonce] = true
	}
}

func TestWrongAADFails(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	stored, err := k.Encrypt(vectorPlaintext, "webhook/7/secretKey")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{
		"webhook/8/secretKey",            // another row
		"webhook/7/header/authorization", // another field
		"webhook/7/secretKey ",           // near miss
		"",                               // no context
		"k1:webhook/7/secretKey",         // shifted across the header
		"enc:v1:k1:webhook/7/secretKey",  // the whole AAD as the context
	} {
		got, err := k.Decrypt(stored, wrong)
		if err == nil {
			t.Errorf("Decrypt with aad %q succeeded: %q", wrong, got)
			continue
		}
		assertSafeError(t, err, vectorPlaintext, testKey("k1"))
		if !strings.Contains(err.Error(), `does not authenticate under key "k1"`) {
			t.Errorf("error %q does not say the value failed to authenticate", err)
		}
	}
}

func TestWrongKeyBytesUnderSameIDFails(t *testing.T) {
	stored, err := mustParse(t, testEntry("k1")).Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	impostor := mustParse(t, "k1:"+strings.SplitN(testEntry("other"), ":", 2)[1])
	if got, err := impostor.Decrypt(stored, aad); err == nil {
		t.Fatalf("a different key named k1 decrypted the value: %q", got)
	} else {
		assertSafeError(t, err, vectorPlaintext, testKey("k1"), testKey("other"))
	}
}

// Every bit of nonce, ciphertext and tag is authenticated.
func TestFlippedPayloadBitFails(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	stored, err := k.Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := parseEnvelope(stored)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for bit := range 8 {
			tampered := append([]byte(nil), sealed...)
			tampered[i] ^= 1 << bit
			value := header(id) + payloadEncoding.EncodeToString(tampered)
			if got, err := k.Decrypt(value, aad); err == nil {
				t.Fatalf("byte %d bit %d flipped: decrypted to %q", i, bit, got)
			} else {
				assertSafeError(t, err, vectorPlaintext, testKey("k1"))
			}
		}
	}
}

// Every character of the stored text matters, including the header and
// the last payload character, whose low bits are padding unless the sealed
// length is a multiple of 3; the three plaintext lengths cover each case.
func TestChangedStoredCharacterFails(t *testing.T) {
	const replacements = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=: "
	k := mustParse(t, testEntry("k1")+","+testEntry("k0"))
	for _, plaintext := range []string{vectorPlaintext, vectorPlaintext + "x", vectorPlaintext + "xy"} {
		stored, err := k.Encrypt(plaintext, aad)
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(stored) {
			for _, c := range []byte(replacements) {
				if c == stored[i] {
					continue
				}
				changed := stored[:i] + string(c) + stored[i+1:]
				if got, err := k.Decrypt(changed, aad); err == nil {
					t.Fatalf("character %d changed (%q): decrypted to %q", i, changed, got)
				}
			}
		}
		if _, err := k.Decrypt(stored+"A", aad); err == nil {
			t.Error("a character appended to the payload was ignored")
		}
		if _, err := k.Decrypt(stored[:len(stored)-1], aad); err == nil {
			t.Error("a character removed from the payload was ignored")
		}
		mid := len(stored) - 10
		if _, err := k.Decrypt(stored[:mid]+"\n"+stored[mid:], aad); err == nil {
			t.Error("a line break inside the payload was ignored")
		}
	}
}

// Moving a value to another key id of the same keyring must fail even if
// the ids share key bytes in some other keyring: the id is authenticated.
func TestKeyIDIsAuthenticated(t *testing.T) {
	keyText := strings.SplitN(testEntry("k1"), ":", 2)[1]
	stored, err := mustParse(t, "a:"+keyText).Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	relabelled := "enc:v1:b:" + strings.TrimPrefix(stored, "enc:v1:a:")
	if got, err := mustParse(t, "b:"+keyText).Decrypt(relabelled, aad); err == nil {
		t.Errorf("relabelled value decrypted: %q", got)
	}
}

func TestUnknownKeyID(t *testing.T) {
	stored, err := mustParse(t, testEntry("k0")).Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	k := mustParse(t, testEntry("k2")+","+testEntry("k1"))
	_, err = k.Decrypt(stored, aad)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Decrypt: %v, want ErrUnknownKey", err)
	}
	want := `unknown key id "k0" (the keyring has k2, k1): add the old key to the keyring to read it`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	assertSafeError(t, err, vectorPlaintext, testKey("k0"), testKey("k1"), testKey("k2"))
}

func TestDecryptRejectsPlaintextWithoutEchoingIt(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	_, err := k.Decrypt(vectorPlaintext, aad)
	if !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("Decrypt(plaintext): %v, want ErrNotEncrypted", err)
	}
	if strings.Contains(err.Error(), "MfKQ9r8") {
		t.Errorf("error %q echoes the value", err)
	}
}

func TestMalformedValues(t *testing.T) {
	k := mustParse(t, testEntry("k1"))
	good, err := k.Encrypt(vectorPlaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	payload := strings.TrimPrefix(good, "enc:v1:k1:")
	tests := []struct {
		name, stored, want string
	}{
		{"plaintext", "hunter2", `value is not encrypted (no "enc:" prefix)`},
		{"prefix case", "ENC:v1:k1:" + payload, `value is not encrypted (no "enc:" prefix)`},
		{"other version", "enc:v2:k1:" + payload, "unsupported encrypted value: this build reads only enc:v1"},
		{"no version", "enc:", "unsupported encrypted value: this build reads only enc:v1"},
		{"no key id separator", "enc:v1:k1", "malformed encrypted value: bad key id"},
		{"empty key id", "enc:v1::" + payload, "malformed encrypted value: bad key id"},
		{"bad key id", "enc:v1:hunter 2:" + payload, "malformed encrypted value: bad key id"},
		{"empty payload", "enc:v1:k1:", `malformed encrypted value under key "k1": payload too short`},
		{"short payload", "enc:v1:k1:" + payload[:36], `malformed encrypted value under key "k1": payload too short`},
		{"padded payload", "enc:v1:k1:" + payload + "==", `malformed encrypted value under key "k1": payload is not unpadded base64url`},
		{"standard alphabet", "enc:v1:k1:" + payload[:20] + "+/" + payload[22:], `malformed encrypted value under key "k1": payload is not unpadded base64url`},
		{"extra field", "enc:v1:k1:" + payload + ":x", `malformed encrypted value under key "k1": payload is not unpadded base64url`},
		{"line break", "enc:v1:k1:" + payload[:20] + "\r\n" + payload[20:], `malformed encrypted value under key "k1": line break in payload`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if IsEncrypted(tt.stored) {
				t.Errorf("IsEncrypted(%q) = true", tt.stored)
			}
			if id, ok := KeyIDOf(tt.stored); ok {
				t.Errorf("KeyIDOf(%q) = %q, true", tt.stored, id)
			}
			if !k.NeedsRotation(tt.stored) {
				t.Errorf("NeedsRotation(%q) = false", tt.stored)
			}
			_, err := k.Decrypt(tt.stored, aad)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Decrypt error = %v\nwant           %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error %q echoes the value", err)
			}
		})
	}
}

func TestIsEncryptedAndKeyIDOf(t *testing.T) {
	if !IsEncrypted(vectorStored) {
		t.Error("IsEncrypted(vector) = false")
	}
	if id, ok := KeyIDOf(vectorStored); id != "k1" || !ok {
		t.Errorf("KeyIDOf(vector) = %q, %v; want k1, true", id, ok)
	}
	if IsEncrypted(vectorPlaintext) {
		t.Error("IsEncrypted(plaintext) = true")
	}
}

func TestZeroKeyringRefusesToEncrypt(t *testing.T) {
	var k Keyring
	if _, err := k.Encrypt("s", aad); err == nil {
		t.Error("the zero Keyring encrypted")
	}
	if _, err := k.Decrypt(vectorStored, vectorAAD); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("the zero Keyring decrypting: %v, want ErrUnknownKey", err)
	}
}

// Run with -race: one Keyring serves every request of the process.
func TestConcurrentUse(t *testing.T) {
	k := mustParse(t, testEntry("k2")+","+testEntry("k1"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				plaintext := strings.Repeat("s", 1+(g*200+i)%50)
				stored, err := k.Encrypt(plaintext, aad)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := k.Decrypt(stored, aad)
				if err != nil || got != plaintext {
					t.Errorf("concurrent round trip: %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func assertSafeError(t *testing.T, err error, plaintext string, keys ...[]byte) {
	t.Helper()
	if strings.Contains(err.Error(), plaintext) {
		t.Errorf("error %q contains the plaintext", err)
	}
	assertNoKey(t, "error", err.Error(), keys...)
}

// FuzzDecrypt checks that no stored text panics Decrypt or decrypts
// without being the sealed value it claims to be. Run with
// go test -fuzz=FuzzDecrypt; plain go test runs the seeds.
func FuzzDecrypt(f *testing.F) {
	k, err := ParseKeyring(vectorSpec)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{vectorStored, "", "enc:", "enc:v1:", "enc:v1:k1:", "enc:v1:k1:AAAA", "plain", vectorStored[:len(vectorStored)-1] + "T"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, stored string) {
		got, err := k.Decrypt(stored, vectorAAD)
		if err != nil {
			return
		}
		if stored != "" && (stored != vectorStored || got != vectorPlaintext) {
			t.Errorf("Decrypt(%q) = %q without error", stored, got)
		}
	})
}
