{{/*
Names and labels of the umbrella chart. The workloads live in the subcharts; the umbrella
adds only what spans them: the external database Secret, validation and a release-wide test.
*/}}

{{- define "todo.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "todo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "todo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: todo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "todo.validateValues" -}}
{{- $errors := list }}
{{- $ext := .Values.global.externalDatabase }}
{{- $external := or $ext.url $ext.existingSecret }}
{{- if and .Values.database.enabled $external }}
{{- $errors = append $errors "global.externalDatabase is set: also set database.enabled=false (one database per release)" }}
{{- end }}
{{- if and (not .Values.database.enabled) (not $external) (or .Values.backend.enabled .Values.frontend.enabled) }}
{{- $errors = append $errors "database.enabled=false needs global.externalDatabase.url or global.externalDatabase.existingSecret" }}
{{- end }}
{{- if and .Values.tests.enabled (not .Values.backend.enabled) }}
{{- $errors = append $errors "tests.enabled needs backend.enabled (the test pod runs the backend image)" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\ntodo: invalid values:\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
