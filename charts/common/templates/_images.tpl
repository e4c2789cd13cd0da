{{/* "<image.repository>:<image.tag>", the tag defaulting to the chart's appVersion. */}}
{{- define "common.images.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* global.imagePullPolicy (set by the umbrella, e.g. Never for side-loaded images) wins over image.pullPolicy. */}}
{{- define "common.images.pullPolicy" -}}
{{- (.Values.global).imagePullPolicy | default .Values.image.pullPolicy }}
{{- end }}
