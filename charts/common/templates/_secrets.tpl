{{/*
The name of a chart's own Secret: the user's existing Secret (rendered with tpl, so it may
name the release) when given, else the chart's fullname.
Call with (dict "existingSecret" .Values.existingSecret "context" $).
*/}}
{{- define "common.secrets.name" -}}
{{- if .existingSecret }}
{{- tpl .existingSecret .context }}
{{- else }}
{{- include "common.names.fullname" .context }}
{{- end }}
{{- end }}

{{/*
A random value that stays the same across upgrades: reuse the key of the live Secret
when there is one (lookup returns nothing under `helm template`, then a new value is drawn).
Call with (dict "context" $ "name" <secret name> "key" <key> "length" <n>).
*/}}
{{- define "common.secrets.stableRandom" -}}
{{- $live := lookup "v1" "Secret" .context.Release.Namespace .name }}
{{- if and $live $live.data (hasKey $live.data .key) }}
{{- index $live.data .key | b64dec }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}
