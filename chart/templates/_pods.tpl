{{- /* What the app's pods share: the image, pull secrets, security contexts and CA volumes. */}}

{{/* icecream.image: "repository:tag" or "repository@sha256:...". Input: the root context. */}}
{{- define "icecream.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if hasPrefix "sha256:" $tag }}
{{- printf "%s@%s" .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
icecream.imagePullSecrets: the pod spec's imagePullSecrets, if any. Input: the root context.
*/}}
{{- define "icecream.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
{{- end }}

{{/* icecream.podSecurityContext / icecream.containerSecurityContext: restricted profile. */}}
{{- define "icecream.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "icecream.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
icecream.caVolumeMounts / icecream.caVolumes: the CA certificates the app verifies Elasticsearch
(and, with kafka.tls, Kafka) with, from the operators' Secrets, at the paths the ConfigMap names.
Input: the root context.
*/}}
{{- define "icecream.caVolumeMounts" -}}
- name: es-ca
  mountPath: /etc/icecream/es-ca
  readOnly: true
{{- if .Values.kafka.tls }}
- name: kafka-ca
  mountPath: /etc/icecream/kafka-ca
  readOnly: true
{{- end }}
{{- end }}
{{- define "icecream.caVolumes" -}}
- name: es-ca
  secret:
    secretName: {{ include "icecream.esName" . }}-es-http-certs-public
    items:
      - key: ca.crt
        path: ca.crt
{{- if .Values.kafka.tls }}
- name: kafka-ca
  secret:
    secretName: {{ include "icecream.kafkaName" . }}-cluster-ca-cert
    items:
      - key: ca.crt
        path: ca.crt
{{- end }}
{{- end }}
