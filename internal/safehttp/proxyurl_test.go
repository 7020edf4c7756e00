package safehttp

import (
	"strings"
	"testing"
)

func TestParseProxyURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://proxy.internal:3128":                 "http://proxy.internal:3128",
		"http://user:pass@proxy.internal:3128":       "http://user:pass@proxy.internal:3128",
		"HTTP://user:p%40ss@10.0.0.5:3128/":          "http://user:p%40ss@10.0.0.5:3128",
		"http://[fd00::1]:8080":                      "http://[fd00::1]:8080",
		"http://user@proxy.internal:3128":            "http://user@proxy.internal:3128",
		"http://user:s3cret@proxy.internal:1":        "http://user:s3cret@proxy.internal:1",
		"http://user:s3cret@proxy.internal:65535///": "", // path
	} {
		u, err := ParseProxyURL(raw)
		if want == "" {
			if err == nil {
				t.Errorf("%s: accepted", raw)
			}
			continue
		}
		if err != nil || u.String() != want {
			t.Errorf("%s: got %v, %v; want %s", raw, u, err, want)
		}
	}
	for raw, why := range map[string]string{
		"": "",
		"https://user:s3cret@proxy.internal:3128":  `scheme "https"`,
		"socks5://user:s3cret@proxy.internal:1080": `scheme "socks5"`,
		"proxy.internal:3128":                      "",
		"user:s3cret@proxy.internal:3128":          "",
		"http://user:s3cret@proxy.internal":        "no valid port",
		"http://user:s3cret@proxy.internal:0":      "no valid port",
		"http://user:s3cret@proxy.internal:99999":  "no valid port",
		"http://user:s3cret@:3128":                 "no host",
		"http://user:s3cret@proxy.internal:3128/x": "path",
		"http://user:s3cret@proxy.internal:3128?a": "query",
		"http://user:s3cret@proxy.internal:3128#f": "fragment",
		"http://user:s3cret%zz@proxy.internal:1":   "not a valid URL",
		"http://user:s3cret@proxy internal:3128":   "not a valid URL",
		"http://user:s3cret@proxy.internal:port":   "not a valid URL",
	} {
		_, err := ParseProxyURL(raw)
		if err == nil {
			t.Errorf("%q: accepted", raw)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "must be http://host:port") || !strings.Contains(msg, why) {
			t.Errorf("%q: %q should say %q and how the value must look", raw, msg, why)
		}
		if strings.Contains(msg, "s3cret") || strings.Contains(msg, "proxy.internal") {
			t.Errorf("%q: error %q repeats the value", raw, msg)
		}
	}
}
