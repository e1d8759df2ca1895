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
icecream.privileges: chart/files/privileges.yaml, the one definition of what each identity may do
(the local stack reads the same file). Input: the root context. Use with fromYaml.
*/}}
{{- define "icecream.privileges" -}}
{{- .Files.Get "files/privileges.yaml" }}
{{- end }}

{{/*
icecream.declarations: files/declarations.yaml, the topics and subscribers the app declares
(generated from handlers/ and live/ by scripts/chart/declarations.ts). Input: the root context. Use with
fromYaml.
*/}}
{{- define "icecream.declarations" -}}
{{- .Files.Get "files/declarations.yaml" }}
{{- end }}

{{/*
icecream.topics: the declared topics with this release's kafka.topics overrides merged over them.
Input: the root context. Use with fromJson.
*/}}
{{- define "icecream.topics" -}}
{{- toJson (mergeOverwrite (include "icecream.declarations" . | fromYaml).topics .Values.kafka.topics) }}
{{- end }}
{{/*
icecream.keptRandom: a generated secret value that survives upgrades: the live Secret's (read with
`lookup`), else a new random one of `length` characters. `helm template` has no cluster to look
into and renders a new one each time. Generated once per render and remembered in the render's
root context, so that the Secret and the pods' checksum annotation see the same value.
Input: dict "root" (the root context) "secret" (the Secret's name) "key" (its data key) "length".
*/}}
{{- define "icecream.keptRandom" -}}
{{- $memo := printf "icecreamKept-%s-%s" .secret .key }}
{{- if not (hasKey .root $memo) }}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .secret }}
{{- $_ := set .root $memo (dig "data" .key "" $live | b64dec | default (randAlphaNum .length)) }}
{{- end }}
{{- get .root $memo }}
{{- end }}

{{/*
icecream.esPassword: an identity's Elasticsearch password, generated once (icecream.keptRandom).
Input: dict "root" (the root context) "identity" (api, consumer, setup).
*/}}
{{- define "icecream.esPassword" -}}
{{- include "icecream.keptRandom" (dict "root" .root "secret" (include "icecream.esUserSecret" .) "key" "password" "length" 32) }}
{{- end }}

{{/*
icecream.demoControlSecret: the Secret holding the demo controls' token (key `token`):
demoControls.existingSecret, else the one the chart generates. Input: the root context.
*/}}
{{- define "icecream.demoControlSecret" -}}
{{- default (printf "%s-demo-control" (include "icecream.fullname" .)) .Values.demoControls.existingSecret }}
{{- end }}

{{/*
icecream.demoControlToken: the token as the cluster has it (an existing Secret's is read with
`lookup`; "" where there is none yet), else a new one of 48 characters kept across upgrades. Only
its hash leaves the Secret: the pods' checksum annotation. Input: the root context.
*/}}
{{- define "icecream.demoControlToken" -}}
{{- $secret := include "icecream.demoControlSecret" . }}
{{- if .Values.demoControls.existingSecret }}
{{- dig "data" "token" "" (lookup "v1" "Secret" .Release.Namespace $secret) | b64dec }}
{{- else }}
{{- include "icecream.keptRandom" (dict "root" . "secret" $secret "key" "token" "length" 48) }}
{{- end }}
{{- end }}

{{/*
icecream.demoControlsEnv: the demo controls' switch and token, for the API and the consumers (both
obey the controls) and no other pod: the helm test pods also read the ConfigMap, and a switch
there without its token could stop them. The page's other variables are in the ConfigMap.
Input: the root context.
*/}}
{{- define "icecream.demoControlsEnv" -}}
- name: DEMO_CONTROLS
  value: {{ .Values.demoControls.enabled | toString | quote }}
{{- if .Values.demoControls.enabled }}
- name: DEMO_CONTROL_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "icecream.demoControlSecret" . }}
      key: token
{{- end }}
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

{{/*
icecream.credentialsEnv: the env entries that give a pod one of the app's identities (api or
consumer): its Kafka user and the password Strimzi's User Operator wrote into the user's Secret,
and its Elasticsearch user and password. Input: dict "root" (root context) "role" (api|consumer).
*/}}
{{- define "icecream.credentialsEnv" -}}
{{- $user := ternary (include "icecream.apiUser" .root) (include "icecream.consumerUser" .root) (eq .role "api") }}
- name: KAFKA_USERNAME
  value: {{ $user }}
- name: KAFKA_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $user }}
      key: password
- name: ELASTICSEARCH_USERNAME
  value: {{ include "icecream.esUsername" (dict "root" .root "identity" .role) }}
- name: ELASTICSEARCH_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "icecream.esUserSecret" (dict "root" .root "identity" .role) }}
      key: password
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

{{/*
icecream.testPod: a `helm test` Pod named "<full name>-test-<name>" that runs the app image's
entry points, one container per check; the pod passes when every container exits 0.
Input: dict "root" (root context), "name", "containers": a list of dict "name", "command" (list),
"env" (list of EnvVar, optional), "role" (optional, api|consumer: the app's configuration with
that role's credentials and CAs).
*/}}
{{- define "icecream.testPod" -}}
{{- $root := .root }}
{{- $withRole := false }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "icecream.fullname" $root }}-test-{{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "icecream.componentLabels" (dict "root" $root "component" (printf "test-%s" .name)) | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  {{- include "icecream.imagePullSecrets" $root | nindent 2 }}
  securityContext:
    {{- include "icecream.podSecurityContext" $root | nindent 4 }}
  containers:
    {{- range .containers }}
    - name: {{ .name }}
      image: {{ include "icecream.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: {{ toJson .command }}
      workingDir: /app
      {{- if .role }}
      {{- $withRole = true }}
      envFrom:
        - configMapRef:
            name: {{ include "icecream.configMapName" $root }}
      {{- end }}
      env:
        {{- with .role }}
        {{- include "icecream.credentialsEnv" (dict "root" $root "role" .) | nindent 8 }}
        {{- end }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      resources:
        requests: { cpu: 50m, memory: 64Mi }
        limits: { memory: 128Mi }
      securityContext:
        {{- include "icecream.containerSecurityContext" $root | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if .role }}
        {{- include "icecream.caVolumeMounts" $root | nindent 8 }}
        {{- end }}
    {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 16Mi
    {{- if $withRole }}
    {{- include "icecream.caVolumes" $root | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
icecream.teardown*: the pre-delete hook (see uninstallHook in values.yaml). It exists only when
this release installs an operator: otherwise the operators outlive the release. Its steps: first
the resources the entity operator finalizes, then those the cluster operators manage. Input: the
root context; icecream.teardownHook takes the hook weight (its RBAC objects come first).
*/}}
{{- define "icecream.teardownEnabled" -}}
{{- if and .Values.uninstallHook.enabled (or (index .Values "strimzi-kafka-operator").enabled (index .Values "eck-operator").enabled) }}true{{ end }}
{{- end }}
{{- define "icecream.teardownName" -}}
{{- printf "%s-teardown" (include "icecream.fullname" .) }}
{{- end }}
{{- define "icecream.teardownSteps" -}}
{{- toJson (list
  (list "kafka.strimzi.io/v1/kafkatopics" "kafka.strimzi.io/v1/kafkausers")
  (list "elasticsearch.k8s.elastic.co/v1/elasticsearches" "kafka.strimzi.io/v1/kafkanodepools" "kafka.strimzi.io/v1/kafkas")) }}
{{- end }}
{{- define "icecream.teardownHook" -}}
helm.sh/hook: pre-delete
helm.sh/hook-weight: {{ . | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
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

{{/*
icecream.topicPartitions: the partitions of a KafkaTopic: the value, or more if the live resource
(kept from an earlier install, or grown by hand) already has more. Kafka cannot take partitions
away, and Strimzi refuses a decrease, so a re-install or an upgrade never asks for one.
Input: dict "root" (root context) "name" (the KafkaTopic's name) "partitions" (the value).
*/}}
{{- define "icecream.topicPartitions" -}}
{{- $live := lookup "kafka.strimzi.io/v1" "KafkaTopic" .root.Release.Namespace .name }}
{{- max (int .partitions) (int (dig "spec" "partitions" 0 $live)) }}
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
{{- $declared := (include "icecream.declarations" . | fromYaml).topics }}
{{- range $name, $_ := $k.topics }}
{{- if not (hasKey $declared $name) }}
{{- fail (printf "kafka.topics.%s: the app declares no such topic (it declares %s)" $name (keys $declared | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- $topics := include "icecream.topics" . | fromJson }}
{{- range $name, $t := $topics }}
{{- if gt (int $t.replicas) (int $k.nodePool.replicas) }}
{{- fail (printf "kafka.topics.%s.replicas (%d) cannot exceed kafka.nodePool.replicas (%d): there are not enough brokers for the replicas" $name (int $t.replicas) (int $k.nodePool.replicas)) }}
{{- end }}
{{- $minInsync := index $t.config "min.insync.replicas" }}
{{- if and $minInsync (gt (int $minInsync) (int $t.replicas)) }}
{{- fail (printf "kafka.topics.%s.config.min.insync.replicas (%d) cannot exceed its replicas (%d): every write would be rejected" $name (int $minInsync) (int $t.replicas)) }}
{{- end }}
{{- end }}
{{- $podName := printf "%s-%s-9999" (include "icecream.kafkaName" .) (include "icecream.nodePoolName" .) }}
{{- if gt (len $podName) 63 }}
{{- fail (printf "the Kafka pod names (%s) would exceed 63 characters: shorten the release name, fullnameOverride, kafka.clusterName or kafka.nodePool.name" $podName) }}
{{- end }}
{{- if and .Values.networkPolicy.enabled (not (index .Values "eck-operator").enabled) (not .Values.networkPolicy.eckOperatorNamespace) }}
{{- fail "eck-operator.enabled is false: set networkPolicy.eckOperatorNamespace to the namespace where the ECK operator runs (the first release's namespace), so that the Elasticsearch NetworkPolicy lets only that operator in" }}
{{- end }}
{{- if and .Values.api.autoscaling.enabled (gt (int .Values.api.autoscaling.minReplicas) (int .Values.api.autoscaling.maxReplicas)) }}
{{- fail "api.autoscaling.minReplicas cannot exceed api.autoscaling.maxReplicas" }}
{{- end }}
{{- if .Values.autoscaling.keda.enabled }}
{{- range $s := (include "icecream.declarations" . | fromYaml).subscribers }}
{{- $partitions := int (index $topics $s.topic).partitions }}
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
{{- if and .Values.monitoring.alerts.enabled (not (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/PrometheusRule")) }}
{{- fail "monitoring.alerts.enabled is true but this cluster does not serve monitoring.coreos.com/v1 (PrometheusRule): install the Prometheus Operator first, or set monitoring.alerts.enabled=false" }}
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
