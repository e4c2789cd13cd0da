{{/* The environment of the app, shared by the Deployment and the migration Job. */}}
{{- define "backend.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "backend.databaseSecretName" . }}
      key: {{ include "backend.databaseSecretKey" . }}
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
    name: {{ include "backend.fullname" . }}
{{- end }}

{{/* Pod-level settings shared by every pod of the chart (app, migration Job, test). */}}
{{- define "backend.podCommon" -}}
serviceAccountName: {{ include "backend.serviceAccountName" . }}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}
