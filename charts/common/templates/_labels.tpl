{{/*
The labels every object of the Todo charts carries, with its component when it has one.
Call with (dict "context" $ "component" "api"); leave out "component" for objects that
belong to no single component (a ServiceAccount).
*/}}
{{- define "common.labels.standard" -}}
{{- $ctx := .context -}}
helm.sh/chart: {{ include "common.names.chart" $ctx }}
app.kubernetes.io/name: {{ include "common.names.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/version: {{ $ctx.Values.image.tag | default $ctx.Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/part-of: todo
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/*
The selector of one component's pods: only labels that never change over the release's life
(a selector is immutable). The component keeps migration Jobs and test pods out of Services.
Call with (dict "context" $ "component" "api").
*/}}
{{- define "common.labels.selector" -}}
app.kubernetes.io/name: {{ include "common.names.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ required "common.labels.selector needs a component" .component }}
{{- end }}
