{{/* The image every container runs and the webhook injects. */}}
{{- define "netready.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Selector labels of a component: the same as the kustomize base's, so both select alike. */}}
{{- define "netready.selectorLabels" -}}
app.kubernetes.io/name: netready
app.kubernetes.io/component: {{ . }}
{{- end }}

{{/* Labels of every object: the selector labels, part-of (as the base), and Helm's own. */}}
{{- define "netready.labels" -}}
{{ include "netready.selectorLabels" .component }}
app.kubernetes.io/part-of: netready
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* The restricted container securityContext both programs run with. */}}
{{- define "netready.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The collector's URL for injected agents. */}}
{{- define "netready.collectorURL" -}}
{{ .Values.webhook.collectorURL | default (printf "http://netready-collector.%s.svc:9470" .Release.Namespace) }}
{{- end }}
