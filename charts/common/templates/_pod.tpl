{{/*
Pod-level settings every pod of a chart shares (server, migration Job, helm test): its
ServiceAccount without a mounted token (no app calls the Kubernetes API), pull secrets, and
the pod security context (Pod Security "restricted" in the charts' values).
*/}}
{{- define "common.pod.base" -}}
serviceAccountName: {{ include "common.names.serviceAccount" . }}
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

{{/* Every container's security context (non-root, read-only root filesystem, no capabilities). */}}
{{- define "common.container.securityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}
