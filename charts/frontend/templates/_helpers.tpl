{{/*
What only the frontend chart needs; names, labels, image, pod security, Secrets and the
database wiring come from the library chart "common" (charts/common). Templates here are
prefixed "frontend." because Helm shares named templates across the whole release.
*/}}

{{/* The web pods are the component "web": the Service selects it, never the Job or test pods. */}}
{{- define "frontend.labels" -}}
{{- include "common.labels.standard" (dict "context" . "component" "web") }}
{{- end }}

{{- define "frontend.selectorLabels" -}}
{{- include "common.labels.selector" (dict "context" . "component" "web") }}
{{- end }}

{{/* The Secret with this chart's own credentials (BETTER_AUTH_SECRET). */}}
{{- define "frontend.secretName" -}}
{{- include "common.secrets.name" (dict "existingSecret" .Values.existingSecret "context" .) }}
{{- end }}

{{/* Gather every problem with the values and fail once, listing them all. */}}
{{- define "frontend.validateValues" -}}
{{- $errors := list
  (include "common.validations.autoscaling" .)
  (include "common.validations.preStopSleep" .)
  (include "common.validations.databaseUrl" .)
  (include "common.validations.credentialLength" (dict "value" .Values.betterAuth.secret "key" "betterAuth.secret" "minLength" 32))
}}
{{- include "common.validations.fail" (dict "errors" $errors "context" .) }}
{{- end }}
