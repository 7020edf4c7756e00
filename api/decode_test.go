package api

import "testing"

func TestHasNUL(t *testing.T) {
	cases := map[string]bool{
		`{"a":"b"}`:               false,
		`{"a":"\u0000"}`:          true,
		`{"a":"x\u0000y"}`:        true,
		`{"a":"\\u0000"}`:         false, // an escaped backslash, then text
		`{"a":"\\\u0000"}`:        true,
		`{"a":"\\u0000\u0000"}`:   true,
		"{\"a\":\"raw\x00byte\"}": true,
	}
	for in, want := range cases {
		if got := hasNUL([]byte(in)); got != want {
			t.Errorf("hasNUL(%s) = %v, want %v", in, got, want)
		}
	}
}
