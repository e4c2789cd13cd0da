{{/* The environment of the app, shared by the Deployment and the migration Job. */}}
{{- define "backend.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "common.database.secretName" . }}
      key: {{ include "common.database.secretKey" . }}
- name: AUTH_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.secretName" . }}
      key: AUTH_JWT_SECRET
      optional: true
- name: OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.secretName" . }}
      key: OPENAI_API_KEY
      optional: true
{{- end }}

{{- define "backend.envFrom" -}}
- configMapRef:
    name: {{ include "common.names.fullname" . }}
{{- end }}
