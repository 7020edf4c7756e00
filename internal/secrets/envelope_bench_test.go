package secrets

import "testing"

// benchSecret is 40 bytes, the size of a typical whsec_ signing secret.
const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwxy"

func BenchmarkEncrypt(b *testing.B) {
	k := mustParse(b, testEntry("k1"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Encrypt(benchSecret, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := mustParse(b, testEntry("k1"))
	stored, err := k.Encrypt(benchSecret, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt(stored, aad); err != nil {
			b.Fatal(err)
		}
	}
}
