{{/*
What only the database chart needs; names, labels, image, pod security and Secrets come from
the library chart "common" (charts/common). Templates here are prefixed "database." because
Helm shares named templates across the whole release.
*/}}

{{/* The Postgres pod is the component "database": the Services select it, never the test pod. */}}
{{- define "database.labels" -}}
{{- include "common.labels.standard" (dict "context" . "component" "database") }}
{{- end }}

{{- define "database.selectorLabels" -}}
{{- include "common.labels.selector" (dict "context" . "component" "database") }}
{{- end }}

{{/* The Secret with POSTGRES_PASSWORD and DATABASE_URL (the app charts read the latter). */}}
{{- define "database.secretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.auth.existingSecret "context" .) }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "database.validateValues" -}}
{{- $errors := list }}
{{- if include "common.database.isExternal" . }}
{{- $errors = append $errors "global.externalDatabase is set, so the database chart must be disabled (database.enabled=false)" }}
{{- end }}
{{- $errors = append $errors (include "common.validations.credentialLength" (dict "value" .Values.auth.password "key" "auth.password" "minLength" 16)) }}
{{- range $key := list "username" "database" }}
{{- if not (regexMatch "^[a-z_][a-z0-9_]*$" (index $.Values.auth $key)) }}
{{- $errors = append $errors (printf "auth.%s must be a plain lower-case Postgres identifier" $key) }}
{{- end }}
{{- end }}
{{- include "common.validations.fail" (dict "errors" $errors "context" .) }}
{{- end }}
