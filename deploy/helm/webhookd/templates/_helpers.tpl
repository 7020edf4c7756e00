{{/* Names and labels. */}}
{{- define "webhookd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "webhookd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Pod selector of one component (api, worker, migrate): pass (list $ "api"). */}}
{{- define "webhookd.selectorLabels" -}}
app.kubernetes.io/name: {{ (index . 0).Chart.Name }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "webhookd.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret holding API_TOKEN, ENCRYPTION_KEYS and TENANT_TOKEN_KEY. */}}
{{- define "webhookd.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "webhookd.fullname" .) -}}
{{- end -}}

{{/* Whether the chart creates its own Secret, and what goes in it. */}}
{{- define "webhookd.ownSecretData" -}}
{{- if not .Values.secrets.existingSecret }}
API_TOKEN: {{ required "secrets.apiToken (or secrets.existingSecret) is required: the API's admin bearer token" .Values.secrets.apiToken | b64enc | quote }}
ENCRYPTION_KEYS: {{ required "secrets.encryptionKeys (or secrets.existingSecret) is required: `webhookd keygen` prints one" .Values.secrets.encryptionKeys | b64enc | quote }}
{{- with .Values.secrets.tenantTokenKey }}
TENANT_TOKEN_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- if not .Values.database.existingSecret }}
DATABASE_URL: {{ required "database.url (or database.existingSecret) is required: a postgres:// URL" .Values.database.url | b64enc | quote }}
{{- end }}
{{- with .Values.temporal.apiKey.value }}
TEMPORAL_API_KEY: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.config.egressProxy }}
EGRESS_PROXY: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Environment every webhookd process reads. */}}
{{- define "webhookd.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret | default (include "webhookd.fullname" .) }}
      key: {{ ternary .Values.database.existingSecretKey "DATABASE_URL" (ne .Values.database.existingSecret "") }}
- name: ENCRYPTION_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ include "webhookd.secretName" . }}
      key: ENCRYPTION_KEYS
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
- name: TEMPORAL_TASK_QUEUE
  value: {{ .Values.temporal.taskQueue | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.config.logFormat | quote }}
{{- if or .Values.temporal.tls.enabled .Values.temporal.tls.existingSecret }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- with .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- if .Values.temporal.tls.existingSecret }}
{{- with .Values.temporal.tls.caKey }}
- name: TEMPORAL_TLS_CA
  value: /etc/webhookd/temporal-tls/{{ . }}
{{- end }}
{{- if and .Values.temporal.tls.certKey .Values.temporal.tls.keyKey }}
- name: TEMPORAL_TLS_CERT
  value: /etc/webhookd/temporal-tls/{{ .Values.temporal.tls.certKey }}
- name: TEMPORAL_TLS_KEY
  value: /etc/webhookd/temporal-tls/{{ .Values.temporal.tls.keyKey }}
{{- end }}
{{- end }}
{{- if or .Values.temporal.apiKey.existingSecret .Values.temporal.apiKey.value }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.temporal.apiKey.existingSecret | default (include "webhookd.fullname" .) }}
      key: {{ ternary .Values.temporal.apiKey.existingSecretKey "TEMPORAL_API_KEY" (ne .Values.temporal.apiKey.existingSecret "") }}
{{- end }}
{{- end -}}

{{/* Environment of the processes that deliver (api with a worker, worker). */}}
{{- define "webhookd.deliveryEnv" -}}
- name: ALLOW_PRIVATE_ENDPOINTS
  value: {{ .Values.config.allowPrivateEndpoints | quote }}
- name: RETENTION_DAYS
  value: {{ .Values.config.retentionDays | quote }}
- name: WORKER_CONCURRENCY
  value: {{ .Values.config.workerConcurrency | quote }}
{{- $cache := int .Values.config.workflowCacheSize }}
{{- if eq $cache 0 }}
{{- /* webhookd's default: 1,000, or workerConcurrency if larger */}}
{{- $cache = max 1000 (int .Values.config.workerConcurrency) }}
{{- else if lt $cache (int .Values.config.workerConcurrency) }}
{{- fail (printf "config.workflowCacheSize (%v) must be at least config.workerConcurrency (%v): webhookd refuses to start otherwise" .Values.config.workflowCacheSize .Values.config.workerConcurrency) }}
{{- end }}
- name: WORKFLOW_CACHE_SIZE
  value: {{ $cache | quote }}
{{- if .Values.config.egressProxy }}
- name: EGRESS_PROXY
  valueFrom:
    secretKeyRef:
      name: {{ include "webhookd.fullname" . }}
      key: EGRESS_PROXY
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "webhookd.tlsVolume" -}}
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.existingSecret }}
{{- end }}
{{- end -}}

{{- define "webhookd.tlsMount" -}}
{{- if .Values.temporal.tls.existingSecret }}
- name: temporal-tls
  mountPath: /etc/webhookd/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every pod. */}}
{{- define "webhookd.podSpec" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The Host names the api answers to besides IP addresses and localhost
(webhookd refuses others, a guard against DNS rebinding): its Service's
names inside the cluster, the Ingress host, and api.allowedHosts. Probes
and Prometheus reach pods by IP and need none. */}}
{{- define "webhookd.allowedHosts" -}}
{{- $svc := printf "%s-api" (include "webhookd.fullname" .) -}}
{{- $ns := .Release.Namespace -}}
{{- $names := list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) -}}
{{- if .Values.ingress.enabled }}{{ $names = append $names .Values.ingress.host }}{{ end -}}
{{- $names = concat $names .Values.api.allowedHosts -}}
{{- join "," $names -}}
{{- end -}}
