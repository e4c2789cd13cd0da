{{/*
What only the backend chart needs; names, labels, image, pod security, Secrets and the
database wiring come from the library chart "common" (charts/common). Templates here are
prefixed "backend." because Helm shares named templates across the whole release.
*/}}

{{/* The API pods are the component "api": the Service selects it, never the Job or test pods. */}}
{{- define "backend.labels" -}}
{{- include "common.labels.standard" (dict "context" . "component" "api") }}
{{- end }}

{{- define "backend.selectorLabels" -}}
{{- include "common.labels.selector" (dict "context" . "component" "api") }}
{{- end }}

{{/* The Secret with this chart's own credentials (JWT secret, API key). */}}
{{- define "backend.secretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.existingSecret "context" .) }}
{{- end }}

{{- define "backend.databaseSslmode" -}}
{{- if include "common.database.isExternal" . }}
{{- ((.Values.global).externalDatabase).sslmode | default "require" }}
{{- else }}
{{- .Values.database.sslmode }}
{{- end }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "backend.validateValues" -}}
{{- $errors := list (include "common.validations.autoscaling" .) }}
{{- if eq .Values.auth.mode "hs256" }}
{{- $errors = append $errors (include "common.validations.credentialLength" (dict "value" .Values.auth.jwtSecret "key" "auth.jwtSecret" "minLength" 32)) }}
{{- end }}
{{- if and (eq .Values.auth.mode "jwks") (not .Values.auth.jwksUrl) }}
{{- $errors = append $errors "auth.jwksUrl is required when auth.mode is jwks" }}
{{- end }}
{{- if and (eq .Values.chat.agent "openai") (not .Values.chat.openaiApiKey) (not .Values.existingSecret) }}
{{- $errors = append $errors "chat.openaiApiKey (or existingSecret) is required when chat.agent is openai" }}
{{- end }}
{{- $errors = append $errors (include "common.validations.preStopSleep" .) }}
{{- $errors = append $errors (include "common.validations.databaseUrl" .) }}
{{- include "common.validations.fail" (dict "errors" $errors "context" .) }}
{{- end }}
