{{/*
The container image: "<image.repository>@<image.digest>" when a digest is given (pulled by digest: exactly
what was pushed to a registry), else "<image.repository>:<image.tag>", the tag defaulting to the chart's appVersion.
*/}}
{{- define "common.images.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* global.imagePullPolicy (set by the umbrella, e.g. Never for side-loaded images) wins over image.pullPolicy. */}}
{{- define "common.images.pullPolicy" -}}
{{- (.Values.global).imagePullPolicy | default .Values.image.pullPolicy }}
{{- end }}
