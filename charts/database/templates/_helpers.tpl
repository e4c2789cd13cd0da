{{/*
Names and labels of the database chart. Every template is prefixed "database." because
Helm shares named templates across the umbrella chart and all its subcharts.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless overridden. */}}
{{- define "database.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object names are always "<release>-<name>" (never shortened when the release name
contains the chart name, unlike `helm create`), so the other charts of the release can
address "<release>-database" without knowing anything else.
*/}}
{{- define "database.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "database.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "database.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries; pods add their component. */}}
{{- define "database.baseLabels" -}}
helm.sh/chart: {{ include "database.chart" . }}
app.kubernetes.io/name: {{ include "database.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector of the Postgres pod; the component keeps the test pod out of the Services. */}}
{{- define "database.selectorLabels" -}}
app.kubernetes.io/name: {{ include "database.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: database
{{- end }}

{{- define "database.labels" -}}
{{ include "database.baseLabels" . }}
app.kubernetes.io/component: database
{{- end }}

{{- define "database.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "database.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "database.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* global.imagePullPolicy (set by the umbrella, e.g. Never for side-loaded images) wins. */}}
{{- define "database.imagePullPolicy" -}}
{{- (.Values.global).imagePullPolicy | default .Values.image.pullPolicy }}
{{- end }}

{{/* The Secret with POSTGRES_PASSWORD and DATABASE_URL (the app charts read the latter). */}}
{{- define "database.secretName" -}}
{{- if .Values.auth.existingSecret }}
{{- tpl .Values.auth.existingSecret . }}
{{- else }}
{{- include "database.fullname" . }}
{{- end }}
{{- end }}

{{/*
A random value that stays the same across upgrades: reuse the key of the live Secret
when there is one (lookup returns nothing under `helm template`, then a new value is drawn).
Call with (dict "ctx" $ "name" <secret name> "key" <key> "length" <n>).
*/}}
{{- define "database.stableRandom" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $live $live.data (hasKey $live.data .key) }}
{{- index $live.data .key | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "database.validateValues" -}}
{{- $errors := list }}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if or $ext.url $ext.existingSecret }}
{{- $errors = append $errors "global.externalDatabase is set, so the database chart must be disabled (database.enabled=false)" }}
{{- end }}
{{- if and .Values.auth.password (lt (len .Values.auth.password) 16) }}
{{- $errors = append $errors "auth.password must be at least 16 characters (or empty to generate one)" }}
{{- end }}
{{- if not (regexMatch "^[a-z_][a-z0-9_]*$" .Values.auth.username) }}
{{- $errors = append $errors "auth.username must be a plain lower-case Postgres identifier" }}
{{- end }}
{{- if not (regexMatch "^[a-z_][a-z0-9_]*$" .Values.auth.database) }}
{{- $errors = append $errors "auth.database must be a plain lower-case Postgres identifier" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\ndatabase: invalid values:\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
