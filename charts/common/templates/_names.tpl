{{/*
Object names. Every helper of this library is called with the calling chart's root context
(`include "common.names.fullname" .`), so .Chart and .Values are that chart's, not the library's.
*/}}

{{/* The app.kubernetes.io/name label: the chart name unless nameOverride. */}}
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Object names are always "<release>-<name>" (never shortened when the release name contains
the chart name, unlike `helm create`), so the charts of one release can address each other,
e.g. "<release>-backend", without extra settings.
*/}}
{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "common.names.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The helm.sh/chart label: "<chart>-<version>", "+" being invalid in a label. */}}
{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "common.names.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "common.names.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
