{{/*
Values validation, the way every Todo chart does it: the chart's "<chart>.validateValues"
gathers one message per broken rule (the rules below return "" when the values are fine)
and hands the list to "common.validations.fail", which fails once listing them all, so a
user fixes every problem in one round.
*/}}

{{/* Call with (dict "errors" <list of messages, "" entries ignored> "context" $). */}}
{{- define "common.validations.fail" -}}
{{- $errors := compact .errors }}
{{- if $errors }}
{{- fail (printf "\n%s: invalid values:\n  - %s" .context.Chart.Name (join "\n  - " $errors)) }}
{{- end }}
{{- end }}

{{- define "common.validations.autoscaling" -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}

{{/* The preStop sleep must end before the kubelet kills the container, or no request drains. */}}
{{- define "common.validations.preStopSleep" -}}
{{- if and .Values.lifecycle.preStopSleepSeconds (ge (int .Values.lifecycle.preStopSleepSeconds) (int .Values.terminationGracePeriodSeconds)) }}
{{- "terminationGracePeriodSeconds must exceed lifecycle.preStopSleepSeconds" }}
{{- end }}
{{- end }}

{{/* database.url is stored in the chart's own Secret, which existingSecret replaces. */}}
{{- define "common.validations.databaseUrl" -}}
{{- if and .Values.database.url .Values.existingSecret }}
{{- "database.url cannot be stored when existingSecret is set: put the URL in a Secret and set database.existingSecret" }}
{{- end }}
{{- end }}

{{/*
A credential a user may give instead of having one generated must be long enough.
Call with (dict "value" .Values.auth.password "key" "auth.password" "minLength" 16).
*/}}
{{- define "common.validations.credentialLength" -}}
{{- if and .value (lt (len .value) (int .minLength)) }}
{{- printf "%s must be at least %d characters (or empty to generate one)" .key (int .minLength) }}
{{- end }}
{{- end }}
