{{- /*
Names, labels and the annotations objects share. Every object name starts with the release's
full name, so two releases share a namespace.
*/}}

{{/*
icecream.name: the chart name (or nameOverride), truncated to 63 characters.
Input: the root context.
*/}}
{{- define "icecream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
icecream.fullname: prefix of every resource name: fullnameOverride, else the release name when it
already contains the chart name, else "<release>-<chart>". Input: the root context.
*/}}
{{- define "icecream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* icecream.chart: "name-version" for the helm.sh/chart label. Input: the root context. */}}
{{- define "icecream.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* icecream.labels: recommended labels of every object. Input: the root context. */}}
{{- define "icecream.labels" -}}
helm.sh/chart: {{ include "icecream.chart" . }}
{{ include "icecream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: icecream-queue
{{- end }}

{{/* icecream.selectorLabels: labels that select this release's objects. Input: the root context. */}}
{{- define "icecream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "icecream.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
icecream.componentLabels / icecream.componentSelectorLabels: the above plus
app.kubernetes.io/component. Input: dict "root" (root context) "component" (api|consumer|...).
*/}}
{{- define "icecream.componentLabels" -}}
{{ include "icecream.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- define "icecream.componentSelectorLabels" -}}
{{ include "icecream.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Names derived from the full name. Input: the root context. */}}
{{- define "icecream.kafkaName" -}}
{{- default (include "icecream.fullname" .) .Values.kafka.clusterName }}
{{- end }}
{{- define "icecream.esName" -}}
{{- default (include "icecream.fullname" .) .Values.elasticsearch.name }}
{{- end }}
{{- define "icecream.apiUser" -}}
{{- printf "%s-api" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.consumerUser" -}}
{{- printf "%s-consumer" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.configMapName" -}}
{{- printf "%s-config" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.apiServiceName" -}}
{{- printf "%s-api" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.kafkaLagSecret" -}}
{{- printf "%s-kafka-lag" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.esRolesSecret" -}}
{{- printf "%s-es-roles" (include "icecream.fullname" .) }}
{{- end }}
{{- /* icecream.deploymentName: the Deployment of a role. Input: dict "root" "role" (api|consumer). */}}
{{- define "icecream.deploymentName" -}}
{{- printf "%s-%s" (include "icecream.fullname" .root) .role }}
{{- end }}
{{- define "icecream.kedaUser" -}}
{{- printf "%s-keda" (include "icecream.fullname" .) }}
{{- end }}
{{/*
The Elasticsearch user of an identity (api, consumer, setup) and its basic-auth Secret.
Input: dict "root" (the root context) "identity".
*/}}
{{- define "icecream.esUsername" -}}
{{- printf "%s-%s" (include "icecream.fullname" .root) .identity }}
{{- end }}
{{- define "icecream.esUserSecret" -}}
{{- printf "%s-es-%s-user" (include "icecream.fullname" .root) .identity }}
{{- end }}

{{/*
icecream.demoControlSecret: the Secret holding the demo controls' token (key `token`):
demoControls.existingSecret, else the one the chart generates. Input: the root context.
*/}}
{{- define "icecream.demoControlSecret" -}}
{{- default (printf "%s-demo-control" (include "icecream.fullname" .)) .Values.demoControls.existingSecret }}
{{- end }}

{{- /* The KafkaNodePool: Strimzi names its pods "<cluster>-<pool>-<id>". */}}
{{- define "icecream.nodePoolName" -}}
{{- printf "%s-%s" (include "icecream.fullname" .) .Values.kafka.nodePool.name }}
{{- end }}

{{/*
icecream.eckOperatorNamespace: where the ECK operator that manages this release's Elasticsearch
runs: this release's namespace when it installs ECK, else networkPolicy.eckOperatorNamespace.
Input: the root context.
*/}}
{{- define "icecream.eckOperatorNamespace" -}}
{{- default .Release.Namespace .Values.networkPolicy.eckOperatorNamespace }}
{{- end }}

{{/* icecream.keep: the resource-policy annotation when data is kept on uninstall. */}}
{{- define "icecream.keep" -}}
{{- if .Values.keepDataOnUninstall }}
helm.sh/resource-policy: keep
{{- end }}
{{- end }}
