{{/* The environment of the app, shared by the Deployment and the migration Job. */}}
{{- define "frontend.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "common.database.secretName" . }}
      key: {{ include "common.database.secretKey" . }}
- name: BETTER_AUTH_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "frontend.secretName" . }}
      key: BETTER_AUTH_SECRET
{{- end }}

{{- define "frontend.envFrom" -}}
- configMapRef:
    name: {{ include "common.names.fullname" . }}
{{- end }}
