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

{{/* icecream.image: "repository:tag" or "repository@sha256:...". Input: the root context. */}}
{{- define "icecream.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if hasPrefix "sha256:" $tag }}
{{- printf "%s@%s" .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
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
icecream.privileges: chart/files/privileges.yaml, the one definition of what each identity may do
(the local stack reads the same file). Input: the root context. Use with fromYaml.
*/}}
{{- define "icecream.privileges" -}}
{{- .Files.Get "files/privileges.yaml" }}
{{- end }}

{{/* icecream.kafkaPort: 9093 with TLS, else 9092. Input: the root context. */}}
{{- define "icecream.kafkaPort" -}}
{{- if .Values.kafka.tls }}9093{{ else }}9092{{ end }}
{{- end }}

{{/* icecream.kafkaBootstrap: "host:port" of the bootstrap service. Input: the root context. */}}
{{- define "icecream.kafkaBootstrap" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:%s" (include "icecream.kafkaName" .) .Release.Namespace (include "icecream.kafkaPort" .) }}
{{- end }}

{{/* icecream.keep: the resource-policy annotation when data is kept on uninstall. */}}
{{- define "icecream.keep" -}}
{{- if .Values.keepDataOnUninstall }}
helm.sh/resource-policy: keep
{{- end }}
{{- end }}

{{/*
icecream.validate: cross-field checks the values schema cannot express. Fails the render with a
message naming the values to change. Input: the root context.
*/}}
{{- define "icecream.validate" -}}
{{- $k := .Values.kafka }}
{{- if gt (int $k.replicationFactor) (int $k.nodePool.replicas) }}
{{- fail (printf "kafka.replicationFactor (%d) cannot exceed kafka.nodePool.replicas (%d): there are not enough brokers for the replicas" (int $k.replicationFactor) (int $k.nodePool.replicas)) }}
{{- end }}
{{- if gt (int $k.minInsyncReplicas) (int $k.replicationFactor) }}
{{- fail (printf "kafka.minInsyncReplicas (%d) cannot exceed kafka.replicationFactor (%d): every write would be rejected" (int $k.minInsyncReplicas) (int $k.replicationFactor)) }}
{{- end }}
{{- range $name, $t := $k.topics }}
{{- if gt (int $t.replicas) (int $k.nodePool.replicas) }}
{{- fail (printf "kafka.topics.%s.replicas (%d) cannot exceed kafka.nodePool.replicas (%d): there are not enough brokers for the replicas" $name (int $t.replicas) (int $k.nodePool.replicas)) }}
{{- end }}
{{- $minInsync := index $t.config "min.insync.replicas" }}
{{- if and $minInsync (gt (int $minInsync) (int $t.replicas)) }}
{{- fail (printf "kafka.topics.%s.config.min.insync.replicas (%d) cannot exceed its replicas (%d): every write would be rejected" $name (int $minInsync) (int $t.replicas)) }}
{{- end }}
{{- end }}
{{- range $i, $s := $k.subscribers }}
{{- range $topic := compact (list $s.topic $s.deadLetter) }}
{{- if not (hasKey $k.topics $topic) }}
{{- fail (printf "kafka.subscribers[%d] names topic %q, which kafka.topics does not declare" $i $topic) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.api.autoscaling.enabled (gt (int .Values.api.autoscaling.minReplicas) (int .Values.api.autoscaling.maxReplicas)) }}
{{- fail "api.autoscaling.minReplicas cannot exceed api.autoscaling.maxReplicas" }}
{{- end }}
{{- if .Values.autoscaling.keda.enabled }}
{{- range $s := $k.subscribers }}
{{- $partitions := int (index $k.topics $s.topic).partitions }}
{{- if gt (int $.Values.autoscaling.keda.maxReplicas) $partitions }}
{{- fail (printf "autoscaling.keda.maxReplicas (%d) cannot exceed kafka.topics.%s.partitions (%d): consumers beyond the partition count sit idle" (int $.Values.autoscaling.keda.maxReplicas) $s.topic $partitions) }}
{{- end }}
{{- end }}
{{- if gt (int .Values.autoscaling.keda.minReplicas) (int .Values.autoscaling.keda.maxReplicas) }}
{{- fail "autoscaling.keda.minReplicas cannot exceed autoscaling.keda.maxReplicas" }}
{{- end }}
{{- if not (.Capabilities.APIVersions.Has "keda.sh/v1alpha1/ScaledObject") }}
{{- fail "autoscaling.keda.enabled is true but this cluster does not serve keda.sh/v1alpha1 (ScaledObject): install KEDA in the cluster first (it is a one-per-cluster add-on), or set autoscaling.keda.enabled=false" }}
{{- end }}
{{- end }}
{{- if and .Values.monitoring.prometheusOperator.enabled (not (and (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PodMonitor"))) }}
{{- fail "monitoring.prometheusOperator.enabled is true but this cluster does not serve monitoring.coreos.com/v1 (ServiceMonitor, PodMonitor): install the Prometheus Operator first, or set monitoring.prometheusOperator.enabled=false" }}
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
