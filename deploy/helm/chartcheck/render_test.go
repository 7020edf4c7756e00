package chartcheck

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	rel "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = "../webhookd"
	// kubeVersion is the oldest Kubernetes the chart supports (Chart.yaml).
	kubeVersion = "v1.25.0"
	releaseName = "hooks"
	namespace   = "webhookd"
)

// newObject returns an empty object of the Go type of kind: every kind the
// chart renders must be here, so that it is decoded strictly.
func newObject(apiVersion, kind string) (any, bool) {
	switch apiVersion + " " + kind {
	case "v1 Secret":
		return &corev1.Secret{}, true
	case "v1 Service":
		return &corev1.Service{}, true
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, true
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, true
	case "batch/v1 Job":
		return &batchv1.Job{}, true
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, true
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, true
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, true
	case "monitoring.coreos.com/v1 PrometheusRule":
		return &monitoringv1.PrometheusRule{}, true
	}
	return nil, false
}

// object is one rendered object, decoded.
type object struct {
	kind, name, source string
	hook               *rel.Hook // nil for the release's ordinary objects
	value              any
}

// rendered is what `helm template` gives for one values file.
type rendered struct {
	values  map[string]any
	objects []object
}

func loadValues(t *testing.T, file string) map[string]any {
	t.Helper()
	if file == "" {
		return map[string]any{}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := loader.LoadValues(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return vals
}

// renderedRelease is what `helm template` prints: the release's objects
// and its hooks.
type renderedRelease struct {
	Manifest string
	Hooks    []*rel.Hook
}

// render does what `helm template` does (a client-only install): values
// coalesced and checked against the chart's schema, templates rendered,
// then split into hooks and ordinary objects. It uses Helm's engine rather
// than its install action, which would bring a Kubernetes client along and
// double the check's cold build.
func render(t *testing.T, userValues map[string]any) (*renderedRelease, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(ch, userValues,
		common.ReleaseOptions{Name: releaseName, Namespace: namespace, Revision: 1, IsInstall: true}, caps, false)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return &renderedRelease{Manifest: b.String(), Hooks: hooks}, nil
}

// renderStrict renders the chart with a values file and decodes every
// object strictly.
func renderStrict(t *testing.T, valuesFile string) rendered {
	t.Helper()
	vals := loadValues(t, valuesFile)
	release, err := render(t, vals)
	if err != nil {
		t.Fatalf("helm template with %s: %v", valuesFile, err)
	}
	out := rendered{values: vals}
	decode := func(source, manifest string, hook *rel.Hook) {
		docs := releaseutil.SplitManifests(manifest)
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			doc := docs[k]
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				t.Errorf("%s: not YAML: %v\n%s", source, err, doc)
				continue
			}
			if head.Kind == "" {
				continue // an empty document
			}
			obj, ok := newObject(head.APIVersion, head.Kind)
			if !ok {
				t.Errorf("%s: %s %s is not a kind this check knows; add its Go type to newObject", source, head.APIVersion, head.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s: %s %s does not match the Kubernetes schema: %v\n%s", source, head.Kind, head.Metadata.Name, err, doc)
				continue
			}
			out.objects = append(out.objects, object{kind: head.Kind, name: head.Metadata.Name, source: source, hook: hook, value: obj})
		}
	}
	decode("manifest", release.Manifest, nil)
	for _, h := range release.Hooks {
		decode(h.Path, h.Manifest, h)
	}
	return out
}

func (r rendered) find(kind, name string) (object, bool) {
	for _, o := range r.objects {
		if o.kind == kind && o.name == name {
			return o, true
		}
	}
	return object{}, false
}

func (r rendered) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func valuesFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml: %v", err)
	}
	return files
}

func name(suffix string) string { return fmt.Sprintf("%s-webhookd%s", releaseName, suffix) }

func lines(s []string) string { return strings.Join(s, "\n\t") }
