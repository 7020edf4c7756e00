package e2e

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/webhookd/webhookd/internal/config"
)

// TestComposeFile keeps docker-compose.yml consistent with the binary: it
// cannot be started on machines without a Docker engine, so this checks what
// can be checked statically.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "webhookd-migrate", "webhookd-api", "webhookd-worker"} {
		svc, ok := compose.Services[name]
		if !ok {
			t.Fatalf("service %s missing", name)
		}
		if tag := svc.Image[strings.LastIndex(svc.Image, ":")+1:]; !strings.Contains(svc.Image, ":") || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a version", name, svc.Image)
		}
		if !strings.HasPrefix(name, "webhookd-") {
			continue
		}
		mode := strings.TrimPrefix(name, "webhookd-")
		if len(svc.Command) != 1 || svc.Command[0] != mode {
			t.Errorf("%s: command %v, want [%s]", name, svc.Command, mode)
		}
		env := map[string]string{}
		for k, v := range svc.Environment {
			if !slices.Contains(config.Vars, k) {
				t.Errorf("%s: %s is not a variable webhookd reads", name, k)
			}
			env[k] = interpolate(t, v, composeDotEnv)
		}
		// The compose environment, with the secrets the header's .env
		// steps set, must pass webhookd's own validation.
		cfg, err := config.Load(config.Mode(mode), func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("%s: configuration refused: %v", name, err)
		}
		// The portal and the console's Temporal links are on.
		if mode == "api" && (len(cfg.TenantTokenKeys) == 0 || cfg.TemporalUIURL == "") {
			t.Errorf("webhookd-api: TENANT_TOKEN_KEY and TEMPORAL_UI_URL must be set (tenant tokens %d, UI %q)", len(cfg.TenantTokenKeys), cfg.TemporalUIURL)
		}
		if mode != "migrate" && compose.Services[name].DependsOn["webhookd-migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s must wait for webhookd-migrate to complete (it refuses a schema that is behind)", name)
		}
	}
	if hc := compose.Services["webhookd-api"].Healthcheck.Test; len(hc) < 3 || hc[1] != "/webhookd" || hc[2] != "probe" {
		t.Errorf("webhookd-api health check = %v, want the binary's probe command", hc)
	}
}
