package chartcheck

import (
	"bytes"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestLint is `helm lint --strict` with each ci values file: warnings fail.
func TestLint(t *testing.T) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range valuesFiles(t) {
		res := lint.RunAll(chartDir, loadValues(t, file), namespace, lint.WithKubeVersion(kv))
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint with %s: %s", file, m)
			}
		}
	}
}

// TestTemplateRefusesMissingSecrets: without secrets the chart does not
// render, and says which value is missing.
func TestTemplateRefusesMissingSecrets(t *testing.T) {
	_, err := render(t, map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "secrets.apiToken") {
		t.Fatalf("helm template with no values: %v", err)
	}
	_, err = render(t, map[string]any{"secrets": map[string]any{"existingSecret": "s"}})
	if err == nil || !strings.Contains(err.Error(), "database.url") {
		t.Fatalf("helm template without a database: %v", err)
	}
}

// TestTemplate renders the chart with each ci values file, decodes every
// object strictly, and checks how they fit together.
func TestTemplate(t *testing.T) {
	for _, file := range valuesFiles(t) {
		t.Run(file, func(t *testing.T) {
			r := renderStrict(t, file)
			checkWorkloads(t, r)
			checkSecretRefs(t, r)
			checkHooks(t, r)
			checkServices(t, r)
			checkMonitoring(t, r)
		})
	}
}

// pods are the pod templates of the chart's Deployments and Job, by name.
func pods(r rendered) map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for _, o := range r.all("Deployment") {
		out[o.name] = o.value.(*appsv1.Deployment).Spec.Template
	}
	for _, o := range r.all("Job") {
		out[o.name] = o.value.(*batchv1.Job).Spec.Template
	}
	return out
}

func env(c corev1.Container, name string) (corev1.EnvVar, bool) {
	i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
	if i < 0 {
		return corev1.EnvVar{}, false
	}
	return c.Env[i], true
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// checkWorkloads: api and worker Deployments whose selectors match their
// pods, probes on the port the process listens on (HTTP_ADDR,
// METRICS_ADDR), resources, a locked-down container, and the variables
// every process needs.
func checkWorkloads(t *testing.T, r rendered) {
	for _, want := range []struct{ deployment, args, addrVar, port, ready string }{
		{name("-api"), "api", "HTTP_ADDR", "http", "/readyz"},
		{name("-worker"), "worker", "METRICS_ADDR", "metrics", "/readyz"},
	} {
		o, ok := r.find("Deployment", want.deployment)
		if !ok {
			t.Errorf("no Deployment %s", want.deployment)
			continue
		}
		d := o.value.(*appsv1.Deployment)
		sel, err := metav1Selector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("%s: selector %v does not match its pods %v", want.deployment, d.Spec.Selector, d.Spec.Template.Labels)
		}
		c := d.Spec.Template.Spec.Containers[0]
		if !slices.Equal(c.Args, []string{want.args}) {
			t.Errorf("%s: args %v", want.deployment, c.Args)
		}
		addr, _ := env(c, want.addrVar)
		_, port, _ := net.SplitHostPort(addr.Value)
		if p := containerPort(c, want.port); p == 0 || port != itoa(p) {
			t.Errorf("%s: %s=%q but container port %s is %d", want.deployment, want.addrVar, addr.Value, want.port, p)
		}
		for what, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			path := map[string]string{"liveness": "/healthz", "readiness": want.ready}[what]
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != want.port {
				t.Errorf("%s: %s probe %+v, want GET %s on port %s", want.deployment, what, p, path, want.port)
			}
		}
	}
	for pod, tmpl := range pods(r) {
		spec := tmpl.Spec
		if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service account token it does not need", pod)
		}
		for _, c := range spec.Containers {
			if c.Image == "" || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s/%s: image %q, resources %+v", pod, c.Name, c.Image, c.Resources)
			}
			if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: security context %+v", pod, c.Name, sc)
			}
			for _, v := range []string{"DATABASE_URL", "ENCRYPTION_KEYS", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"} {
				if _, ok := env(c, v); !ok {
					t.Errorf("%s/%s: no %s", pod, c.Name, v)
				}
			}
			for _, m := range c.VolumeMounts {
				if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
					t.Errorf("%s/%s: mounts volume %s, which the pod lacks", pod, c.Name, m.Name)
				}
			}
		}
	}
}

// checkSecretRefs: every secret a container reads is the chart's own (with
// that key) or one the values name as existing.
func checkSecretRefs(t *testing.T, r rendered) {
	own := map[string]map[string]bool{}
	for _, o := range r.all("Secret") {
		s := o.value.(*corev1.Secret)
		own[o.name] = map[string]bool{}
		for k := range s.Data {
			own[o.name][k] = true
		}
	}
	existing := existingSecrets(r.values)
	for pod, tmpl := range pods(r) {
		for _, c := range tmpl.Spec.Containers {
			for _, e := range c.Env {
				ref := e.ValueFrom
				if ref == nil || ref.SecretKeyRef == nil {
					continue
				}
				s := ref.SecretKeyRef
				switch {
				case own[s.Name] != nil:
					if !own[s.Name][s.Key] && (s.Optional == nil || !*s.Optional) {
						t.Errorf("%s/%s: %s reads key %s of the chart's Secret %s, which lacks it", pod, c.Name, e.Name, s.Key, s.Name)
					}
				case existing[s.Name]:
				default:
					t.Errorf("%s/%s: %s reads Secret %s, which neither the chart makes nor the values name", pod, c.Name, e.Name, s.Name)
				}
			}
		}
		for _, v := range tmpl.Spec.Volumes {
			if v.Secret != nil && !existing[v.Secret.SecretName] && own[v.Secret.SecretName] == nil {
				t.Errorf("%s: volume %s from unknown Secret %s", pod, v.Name, v.Secret.SecretName)
			}
		}
	}
}

func existingSecrets(vals map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, path := range [][]string{
		{"secrets", "existingSecret"}, {"database", "existingSecret"},
		{"temporal", "tls", "existingSecret"}, {"temporal", "apiKey", "existingSecret"},
	} {
		var v any = vals
		for _, k := range path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if s, _ := v.(string); s != "" {
			out[s] = true
		}
	}
	return out
}

// checkHooks: migrate runs before install and upgrade, after the Secret it
// reads (hooks run before the release's other objects exist).
func checkHooks(t *testing.T, r rendered) {
	job, ok := r.find("Job", name("-migrate"))
	if !ok || job.hook == nil {
		t.Fatalf("no migrate Job hook")
	}
	var events []string
	for _, e := range job.hook.Events {
		events = append(events, string(e))
	}
	if !slices.Contains(events, "pre-install") || !slices.Contains(events, "pre-upgrade") {
		t.Errorf("migrate Job runs on %v, want pre-install and pre-upgrade", events)
	}
	c := job.value.(*batchv1.Job).Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Args, []string{"migrate"}) || job.value.(*batchv1.Job).Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("migrate Job: args %v", c.Args)
	}
	for _, o := range r.all("Secret") {
		if o.hook == nil || o.hook.Weight >= job.hook.Weight || !slices.Equal(hookEvents(o), events) {
			t.Errorf("Secret %s must be a hook on %v that runs before the migrate Job (weight below %d)", o.name, events, job.hook.Weight)
		}
	}
	for _, o := range r.objects {
		if o.hook != nil && o.kind != "Secret" && o.kind != "Job" {
			t.Errorf("%s %s is a hook: only the Secret and the migrate Job should be", o.kind, o.name)
		}
	}
}

func hookEvents(o object) []string {
	var out []string
	for _, e := range o.hook.Events {
		out = append(out, string(e))
	}
	return out
}

// checkServices: each Service and PodDisruptionBudget selects the pods of
// one Deployment, on ports its containers name.
func checkServices(t *testing.T, r rendered) {
	deployments := r.all("Deployment")
	selects := func(sel labels.Selector) *appsv1.Deployment {
		for _, o := range deployments {
			d := o.value.(*appsv1.Deployment)
			if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				return d
			}
		}
		return nil
	}
	for _, o := range r.all("Service") {
		s := o.value.(*corev1.Service)
		d := selects(labels.SelectorFromSet(s.Spec.Selector))
		if d == nil {
			t.Errorf("Service %s selects no Deployment's pods", o.name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if containerPort(d.Spec.Template.Spec.Containers[0], p.TargetPort.String()) == 0 {
				t.Errorf("Service %s: target port %s is not a port of %s", o.name, p.TargetPort.String(), d.Name)
			}
		}
	}
	pdbs := r.all("PodDisruptionBudget")
	if len(pdbs) != 2 {
		t.Errorf("%d PodDisruptionBudgets, want one for api and one for worker", len(pdbs))
	}
	for _, o := range pdbs {
		sel, err := metav1Selector(o.value.(*policyv1.PodDisruptionBudget).Spec.Selector)
		if err != nil || selects(sel) == nil {
			t.Errorf("PodDisruptionBudget %s selects no Deployment's pods", o.name)
		}
	}
}

// checkMonitoring: the ServiceMonitor scrapes ports the selected Services
// have, labels jobs as the alerting rules expect, and the dashboard and
// rules are the ones in deploy/.
func checkMonitoring(t *testing.T, r rendered) {
	for _, o := range r.all("ServiceMonitor") {
		sm := o.value.(*monitoringv1.ServiceMonitor)
		sel, err := metav1Selector(&sm.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		ports := map[string]bool{}
		jobs := map[string]bool{}
		for _, so := range r.all("Service") {
			s := so.value.(*corev1.Service)
			if sel.Matches(labels.Set(s.Labels)) {
				for _, p := range s.Spec.Ports {
					ports[p.Name] = true
				}
				jobs[s.Labels[sm.Spec.JobLabel]] = true
			}
		}
		for _, e := range sm.Spec.Endpoints {
			if !ports[e.Port] || e.Path != "/metrics" {
				t.Errorf("ServiceMonitor endpoint %s %s: no selected Service has that port", e.Port, e.Path)
			}
		}
		if !jobs["webhookd-api"] || !jobs["webhookd-worker"] {
			t.Errorf("ServiceMonitor jobs %v, want webhookd-api and webhookd-worker (the alerting rules' job names)", jobs)
		}
	}
	for _, o := range r.all("ConfigMap") {
		cm := o.value.(*corev1.ConfigMap)
		want, err := os.ReadFile("../../grafana/webhookd-dashboard.json")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSpace([]byte(cm.Data["webhookd-dashboard.json"])), bytes.TrimSpace(want)) {
			t.Errorf("ConfigMap %s does not hold deploy/grafana/webhookd-dashboard.json", o.name)
		}
	}
	for _, o := range r.all("PrometheusRule") {
		if n := len(o.value.(*monitoringv1.PrometheusRule).Spec.Groups); n == 0 {
			t.Errorf("PrometheusRule %s has no rule groups", o.name)
		}
	}
}

// TestChartFilesAreDeploys: the chart carries copies of deploy/'s dashboard
// and alerting rules (a chart reads only its own files); they must not drift.
func TestChartFilesAreDeploys(t *testing.T) {
	for chartFile, original := range map[string]string{
		chartDir + "/files/webhookd-dashboard.json": "../../grafana/webhookd-dashboard.json",
		chartDir + "/files/webhookd-alerts.yaml":    "../../prometheus/webhookd-alerts.yaml",
	} {
		a, err1 := os.ReadFile(chartFile)
		b, err2 := os.ReadFile(original)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s (copy it again): %v %v", chartFile, original, err1, err2)
		}
	}
}

// TestValuesSchemaRefusesTypos: values.schema.json names every key the chart
// reads, so a misspelt or misplaced one fails instead of being ignored.
func TestValuesSchemaRefusesTypos(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(map[string]any)
		want string
	}{
		{"misspelt key", func(v map[string]any) { v["api"] = map[string]any{"replica": 3} }, "replica"},
		{"wrong type", func(v map[string]any) { v["worker"] = map[string]any{"replicas": "many"} }, "replicas"},
		{"bad log level", func(v map[string]any) { v["config"] = map[string]any{"logLevel": "verbose"} }, "logLevel"},
	} {
		vals := loadValues(t, chartDir+"/ci/minimal-values.yaml")
		c.set(vals)
		if _, err := render(t, vals); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: helm template gave %v, want an error naming %s", c.name, err, c.want)
		}
	}
}
