package e2e

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/e2e/rig"
	"gopkg.in/yaml.v3"
)

// composeDotEnv is the .env the compose file's header has a user write.
var composeDotEnv = map[string]string{
	"ENCRYPTION_KEYS":  rig.EncryptionKeys,
	"TENANT_TOKEN_KEY": "tenant-token-key-of-at-least-32-characters",
	"API_TOKEN":        "api-token",
}

// composeVar is compose's interpolation: ${NAME}, ${NAME:-default},
// ${NAME-default}, ${NAME:?error}, ${NAME?error}.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate replaces compose variables in v from env as compose does, and
// fails the test where compose would refuse to load the file.
func interpolate(t *testing.T, v string, env map[string]string) string {
	t.Helper()
	return composeVar.ReplaceAllStringFunc(v, func(m string) string {
		g := composeVar.FindStringSubmatch(m)
		val, set := env[g[1]]
		empty := val == ""
		switch g[2] {
		case ":-":
			if empty {
				return g[3]
			}
		case "-":
			if !set {
				return g[3]
			}
		case ":?", "?":
			if !set || (g[2] == ":?" && empty) {
				t.Errorf("compose refuses to load the file without %s: %s", g[1], g[3])
			}
		}
		return val
	})
}

// TestComposeKeygenNeedsNothing: `docker compose run --rm -T webhookd-keygen`
// works on a fresh clone. Compose interpolates the whole file before it
// runs any service, so no variable anywhere may be required (${X:?...}).
func TestComposeKeygenNeedsNothing(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	interpolate(t, string(raw), map[string]string{})
	var compose struct {
		Services map[string]struct {
			Image      string         `yaml:"image"`
			Entrypoint []string       `yaml:"entrypoint"`
			Profiles   []string       `yaml:"profiles"`
			DependsOn  map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	k, ok := compose.Services["webhookd-keygen"]
	switch {
	case !ok:
		t.Fatal("no webhookd-keygen service")
	case !slices.Equal(k.Entrypoint, []string{"/webhookd", "keygen"}):
		t.Errorf("webhookd-keygen entrypoint %v, want [/webhookd keygen] (so that --tenant-token-key can follow)", k.Entrypoint)
	case len(k.DependsOn) > 0:
		t.Errorf("webhookd-keygen must start alone, not after %v", k.DependsOn)
	case !slices.Contains(k.Profiles, "tools"):
		t.Errorf("webhookd-keygen must stay out of `docker compose up` (profiles: [tools])")
	case k.Image != compose.Services["webhookd-api"].Image:
		t.Errorf("webhookd-keygen runs image %q, the api %q", k.Image, compose.Services["webhookd-api"].Image)
	}
	// The header's steps use the service as it is.
	if !strings.Contains(string(raw), "docker compose run --rm -T webhookd-keygen --tenant-token-key") {
		t.Error("the header does not show how to make TENANT_TOKEN_KEY")
	}
}
