{{/*
Names and labels of the backend chart. Every template is prefixed "backend." because
Helm shares named templates across the umbrella chart and all its subcharts.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless overridden. */}}
{{- define "backend.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object names are always "<release>-<name>" (never shortened when the release name
contains the chart name, unlike `helm create`), so the other charts of the release can
address "<release>-backend" without knowing anything else.
*/}}
{{- define "backend.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "backend.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "backend.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries; pods add their component. */}}
{{- define "backend.baseLabels" -}}
helm.sh/chart: {{ include "backend.chart" . }}
app.kubernetes.io/name: {{ include "backend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector of the API pods; the component keeps Job and test pods out of the Service. */}}
{{- define "backend.selectorLabels" -}}
app.kubernetes.io/name: {{ include "backend.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: api
{{- end }}

{{- define "backend.labels" -}}
{{ include "backend.baseLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "backend.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "backend.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "backend.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* global.imagePullPolicy (set by the umbrella, e.g. Never for side-loaded images) wins. */}}
{{- define "backend.imagePullPolicy" -}}
{{- (.Values.global).imagePullPolicy | default .Values.image.pullPolicy }}
{{- end }}

{{/* The Secret with this chart's own credentials (JWT secret, API key). */}}
{{- define "backend.secretName" -}}
{{- if .Values.existingSecret }}
{{- tpl .Values.existingSecret . }}
{{- else }}
{{- include "backend.fullname" . }}
{{- end }}
{{- end }}

{{/* True (non-empty) when the release uses an external database (global.externalDatabase). */}}
{{- define "backend.externalDatabase" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if or $ext.url $ext.existingSecret }}true{{ end }}
{{- end }}

{{/*
Where DATABASE_URL comes from, in order: database.existingSecret (tpl), database.url (this
chart's Secret), an external database of the umbrella, else the database chart's Secret
"<release>-database".
*/}}
{{- define "backend.databaseSecretName" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if .Values.database.existingSecret }}
{{- tpl .Values.database.existingSecret . }}
{{- else if .Values.database.url }}
{{- include "backend.secretName" . }}
{{- else if $ext.existingSecret }}
{{- $ext.existingSecret }}
{{- else if $ext.url }}
{{- printf "%s-external-database" .Release.Name }}
{{- else }}
{{- printf "%s-database" .Release.Name }}
{{- end }}
{{- end }}

{{- define "backend.databaseSecretKey" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if or .Values.database.existingSecret .Values.database.url }}
{{- .Values.database.existingSecretKey }}
{{- else if $ext.existingSecret }}
{{- $ext.existingSecretKey | default "DATABASE_URL" }}
{{- else }}
{{- "DATABASE_URL" }}
{{- end }}
{{- end }}

{{- define "backend.databaseSslmode" -}}
{{- if include "backend.externalDatabase" . }}
{{- ((.Values.global).externalDatabase).sslmode | default "require" }}
{{- else }}
{{- .Values.database.sslmode }}
{{- end }}
{{- end }}

{{/*
A random value that stays the same across upgrades: reuse the key of the live Secret
when there is one (lookup returns nothing under `helm template`, then a new value is drawn).
Call with (dict "ctx" $ "name" <secret name> "key" <key> "length" <n>).
*/}}
{{- define "backend.stableRandom" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .name }}
{{- if and $live $live.data (hasKey $live.data .key) }}
{{- index $live.data .key | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "backend.validateValues" -}}
{{- $errors := list }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- $errors = append $errors "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if and (eq .Values.auth.mode "hs256") .Values.auth.jwtSecret (lt (len .Values.auth.jwtSecret) 32) }}
{{- $errors = append $errors "auth.jwtSecret must be at least 32 characters (or empty to generate one)" }}
{{- end }}
{{- if and (eq .Values.auth.mode "jwks") (not .Values.auth.jwksUrl) }}
{{- $errors = append $errors "auth.jwksUrl is required when auth.mode is jwks" }}
{{- end }}
{{- if and (eq .Values.chat.agent "openai") (not .Values.chat.openaiApiKey) (not .Values.existingSecret) }}
{{- $errors = append $errors "chat.openaiApiKey (or existingSecret) is required when chat.agent is openai" }}
{{- end }}
{{- if and .Values.lifecycle.preStopSleepSeconds (ge (int .Values.lifecycle.preStopSleepSeconds) (int .Values.terminationGracePeriodSeconds)) }}
{{- $errors = append $errors "terminationGracePeriodSeconds must exceed lifecycle.preStopSleepSeconds" }}
{{- end }}
{{- if and .Values.database.url .Values.existingSecret }}
{{- $errors = append $errors "database.url cannot be stored when existingSecret is set: put the URL in a Secret and set database.existingSecret" }}
{{- end }}
{{- if $errors }}
{{- fail (printf "\nbackend: invalid values:\n  - %s" (join "\n  - " $errors)) }}
{{- end }}
{{- end }}
