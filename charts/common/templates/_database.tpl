{{/*
Where the app charts (backend, frontend) read DATABASE_URL. They share one contract, so that
either finds the release's database the same way: values database.url, database.existingSecret,
database.existingSecretKey, existingSecret, and the umbrella's global.externalDatabase.
*/}}

{{/* True (non-empty) when the release uses an external database (global.externalDatabase). */}}
{{- define "common.database.isExternal" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if or $ext.url $ext.existingSecret }}true{{ end }}
{{- end }}

{{/*
The Secret holding DATABASE_URL, in order: database.existingSecret (tpl), database.url (the
chart's own Secret), an external database of the umbrella, else the database chart's Secret
"<release>-database".
*/}}
{{- define "common.database.secretName" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if .Values.database.existingSecret }}
{{- tpl .Values.database.existingSecret . }}
{{- else if .Values.database.url }}
{{- include "common.secrets.name" (dict "existingSecret" .Values.existingSecret "context" .) }}
{{- else if $ext.existingSecret }}
{{- $ext.existingSecret }}
{{- else if $ext.url }}
{{- printf "%s-external-database" .Release.Name }}
{{- else }}
{{- printf "%s-database" .Release.Name }}
{{- end }}
{{- end }}

{{/* The key of DATABASE_URL in that Secret. */}}
{{- define "common.database.secretKey" -}}
{{- $ext := (.Values.global).externalDatabase | default dict }}
{{- if or .Values.database.existingSecret .Values.database.url }}
{{- .Values.database.existingSecretKey }}
{{- else if $ext.existingSecret }}
{{- $ext.existingSecretKey | default "DATABASE_URL" }}
{{- else }}
{{- "DATABASE_URL" }}
{{- end }}
{{- end }}
