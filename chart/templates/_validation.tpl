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
