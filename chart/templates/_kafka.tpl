{{- /* The declared topics and subscribers, and how pods reach Kafka. */}}

{{/*
icecream.declarations: files/declarations.yaml, the topics and subscribers the app declares
(generated from handlers/ and live/ by scripts/chart/declarations.ts). Input: the root context.
Use with fromYaml.
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
