{{/* The environment of the app, shared by the Deployment and the migration Job. */}}
{{- define "frontend.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "frontend.databaseSecretName" . }}
      key: {{ include "frontend.databaseSecretKey" . }}
- name: BETTER_AUTH_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "frontend.secretName" . }}
      key: BETTER_AUTH_SECRET
{{- end }}

{{- define "frontend.envFrom" -}}
- configMapRef:
    name: {{ include "frontend.fullname" . }}
{{- end }}

{{/* Pod-level settings shared by every pod of the chart (app, migration Job, test). */}}
{{- define "frontend.podCommon" -}}
serviceAccountName: {{ include "frontend.serviceAccountName" . }}
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
